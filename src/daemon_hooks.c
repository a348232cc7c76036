/* daemon_hooks.c — placeholder until alert intake and metrics land (this
 * file is replaced by them). */
#include "daemon.h"

int daemon_api_hook(server_req *rq, const char *source);
void daemon_api_metrics(server_req *rq);

int daemon_api_hook(server_req *rq, const char *source)
{
    (void)source;
    server_respond_error(rq, 501, "alert intake is not in this build yet");
    return 0;
}

void daemon_api_metrics(server_req *rq)
{
    server_respond_error(rq, 501, "metrics are not in this build yet");
}
