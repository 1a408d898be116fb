# PS_SONAME(VAR, LIBNAME, [PKG-CONFIG MODULE])
# ---------------------------------------------
# Define VAR_SONAME to the soname of libLIBNAME.so, the library a build
# links against: the one in pkg-config's libdir for MODULE, or else the one
# the compiler finds.  src/dl.c loads it with dlopen() on first use.
AC_DEFUN([PS_SONAME],
[AC_REQUIRE([PS_PROG_OBJDUMP])dnl
AC_MSG_CHECKING([for the soname of lib$2])
ps_so=
m4_ifval([$3],
  [ps_libdir=`$PKG_CONFIG --variable=libdir $3`
   ps_so=`readlink -f "$ps_libdir/lib$2.so" 2>/dev/null`])
AS_IF([test -z "$ps_so" || test ! -f "$ps_so"],
  [ps_so=`$CC $CFLAGS $LDFLAGS -print-file-name=lib$2.so`
   ps_so=`readlink -f "$ps_so" 2>/dev/null`])
$1_SONAME=`$OBJDUMP -p "$ps_so" 2>/dev/null | sed -n 's/^ *SONAME *//p'`
AS_IF([test -z "$$1_SONAME"],
  [AC_MSG_ERROR([cannot find the soname of lib$2.so (is its -dev package installed? objdump from binutils?)])])
AC_MSG_RESULT([$$1_SONAME])
AC_DEFINE_UNQUOTED([$1_SONAME], ["$$1_SONAME"], [lib$2, for dlopen()])
])

AC_DEFUN([PS_PROG_OBJDUMP],
[AC_CHECK_TOOL([OBJDUMP], [objdump], [no])])
