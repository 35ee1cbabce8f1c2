/* baton's exit codes, as baton(1) lists them: sysexits(3)'s numbers. */
#ifndef BATON_EXITCODE_H
#define BATON_EXITCODE_H

#define EXIT_FAILED	1	/* anything else */
#define EXIT_USAGE	64	/* a bad command line */
#define EXIT_UNREACHABLE 69	/* no baton answers at the control socket */
#define EXIT_CONFIG	78	/* a bad configuration file */

#endif
