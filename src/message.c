/* message.c: not written yet */
