/* rsicam — labelled grids of equal-size images ("input | heatmap |
 * overlay" rows), written as one PNG. */
#ifndef RSICAM_MONTAGE_H
#define RSICAM_MONTAGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* White space between cells and around the grid, in pixels. */
#define RSI_MONTAGE_GAP 4

/* cells: rows * cols RGB8 buffers of cell_w x cell_h, row-major; a NULL
 * cell is left blank (white). row_labels (rows entries) become a left
 * column, col_labels (cols entries) a header row; either array, or any
 * entry, may be NULL. Labels are rendered with libvips' text support; where
 * that fails (no fonts) the grid is written without them. Without labels
 * the PNG is exactly cols * cell_w + (cols + 1) * GAP wide and
 * rows * cell_h + (rows + 1) * GAP high. Written atomically. */
int rsi_montage_write_png(const char *path, const uint8_t *const *cells,
                          int rows, int cols, int cell_w, int cell_h,
                          const char *const *row_labels,
                          const char *const *col_labels);

#ifdef __cplusplus
}
#endif
#endif
