/* cli.c: not written yet */
