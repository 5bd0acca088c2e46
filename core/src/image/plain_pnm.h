/* rsicam — plain (ASCII) PBM, PGM and PPM files: their samples counted.
 *
 * libvips' loader reads a plain file's samples as whitespace-separated
 * numbers and takes each one missing as 0, with no error and slowly
 * (about 10 us each): a 22-byte file naming 1 x 517655 pixels was read as
 * a black image in 6 s, and one naming 10^8 pixels would take many
 * minutes. It also reads bits written without spaces ("0110", which
 * Netpbm allows in a plain PBM) as one sample. So before decoding a file
 * that loader opened, image.c counts its samples the way libvips reads
 * them and refuses a file that holds fewer than its header names.
 */
#ifndef RSICAM_PLAIN_PNM_H
#define RSICAM_PLAIN_PNM_H

#include <stdint.h>

/* The samples after the header of the plain PBM, PGM or PPM at path,
 * counted up to need (reading no further), and which it is in *kind (1,
 * 2 or 3, as its magic number P1, P2 or P3 says); -1 when the file is not
 * one (or cannot be opened: libvips then says why). Comments (# to the
 * end of the line) are skipped wherever they are. */
int64_t rsi_plain_pnm_samples(const char *path, int64_t need, int *kind);

#endif
