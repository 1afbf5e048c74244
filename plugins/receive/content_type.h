/* receive/content_type.h: remote-write content negotiation (private).
 * Pure functions over NUL-terminated header values; no state, any thread. */
#ifndef AION_RECEIVE_CONTENT_TYPE_H
#define AION_RECEIVE_CONTENT_TYPE_H

/* The remote write version a Content-Type asks for: 1 (empty/NULL,
 * "application/x-protobuf", ";proto=prometheus.WriteRequest"), 2
 * (";proto=io.prometheus.write.v2.Request"), or 0 = unsupported (415).
 * Media type and parameter names are case-insensitive, values are not. */
int recv_content_version(const char *content_type);

#endif
