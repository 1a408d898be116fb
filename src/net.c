/* net.c: not written yet */
