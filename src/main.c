/* main.c — gatehouse: `gatehouse serve` or an admin command; see cli/cli.c. */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
