/* Umbrella header of lib/prompb: Prometheus remote write (1.0 and 2.0) and
 * remote read wire formats. See each header for ownership and threading. */
#ifndef PROMPB_PROMPB_H
#define PROMPB_PROMPB_H
#include <prompb/common.h>
#include <prompb/snappy.h>
#include <prompb/write.h>
#include <prompb/read.h>
#endif
