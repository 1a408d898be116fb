/* dkim.c: not written yet */
