/* The `swifttrain` program: the library's command line (st_cli_main). */
#include <swifttrain.h>

int main(int argc, char **argv)
{
    return st_cli_main(argc, (const char *const *)argv);
}
