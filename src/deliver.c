/* deliver.c: not written yet */
