/* sasl.c: not written yet */
