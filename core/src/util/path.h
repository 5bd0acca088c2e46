/* rsicam — file names made from parts. */
#ifndef RSICAM_PATH_H
#define RSICAM_PATH_H

/* dir + "/" + name, a new string; NULL with "out of memory" reported. */
char *rsi_path_join(const char *dir, const char *name);

#endif
