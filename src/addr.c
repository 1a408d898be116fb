/* addr.c: not written yet */
