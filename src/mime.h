/*
 * mime.h -- a bounded scan of a message body's MIME structure for
 * --inspect (issue 14): attachment names (also the names inside zip
 * archives) and HTML links whose visible text names a host.
 */
#ifndef POSTSEAL_MIME_H
#define POSTSEAL_MIME_H

#include <stddef.h>

#define MIME_MAX_DEPTH 8	  /* nested multiparts */
#define MIME_MAX_PARTS 200	  /* parts in all */
#define MIME_MAX_NAMES 64	  /* attachment names kept */
#define MIME_MAX_LINKS 32	  /* links with a host in their text kept */
#define MIME_MAX_ZIP_ENTRIES 1000 /* central-directory entries read */
#define MIME_NAME 256

struct mime_name {
	char name[MIME_NAME];	 /* the attachment's file name */
	char archive[MIME_NAME]; /* "" or the zip file it was found in */
};

struct mime_link {
	char href_host[MIME_NAME]; /* where the link goes */
	char text_host[MIME_NAME]; /* the host its visible text shows */
};

struct mime_scan {
	struct mime_name names[MIME_MAX_NAMES];
	size_t nnames;
	struct mime_link links[MIME_MAX_LINKS];
	size_t nlinks;
	size_t parts;
	int limited; /* a bound above was reached: the scan is partial */
};

/*
 * Scan body (len bytes, CRLF line ends) whose top-level Content-Type and
 * Content-Transfer-Encoding are ctype and cte (NULL: text/plain, 7bit).
 * Never fails: what cannot be parsed is skipped.  Strings in *out are
 * printable ASCII; hosts are lower case.  Allocates only while it runs.
 */
void mime_scan(const char *ctype, const char *cte, const char *body, size_t len,
    struct mime_scan *out);

#endif
