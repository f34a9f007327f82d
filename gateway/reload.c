/*
 * reload.c - SIGHUP: the configuration file read again and applied
 * without dropping connections or observations.
 */
#include "gw.h"

void gw_reload(gw_t *gw)
{
    (void)gw;
    gw_log(CFG_LOG_WARN, "SIGHUP: reloading is not supported yet");
}
