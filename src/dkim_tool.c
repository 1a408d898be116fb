/* dkim_tool.c: not written yet */
