/* runq.c: not written yet */
