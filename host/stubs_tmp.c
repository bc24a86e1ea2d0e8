/* Temporary stubs replaced as each part lands. */
#include "commands.h"
#include "jobs/supervisor.h"
#include "net/http_client.h"
#include "plugins/registry.h"
#include <stdio.h>
#include <string.h>
int cl_cmd_worker(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "worker: not built yet\n"); return 1; }
int cl_cmd_jobs(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "jobs: not built yet\n"); return 1; }
int cl_cmd_plugins(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "plugins: not built yet\n"); return 1; }
int cl_supervisor_start(void) { return 0; }
void cl_supervisor_stop(void) {}
int cl_plugins_load_dir(const char *dir) { (void)dir; return 0; }
const cl_capability *cl_plugins_find(int kind, const char *id) { (void)kind; (void)id; return NULL; }
int cl_plugins_check_selection(char *err, size_t errlen) { (void)err; (void)errlen; return 0; }
int cl_http_global_init(void) { return 0; }
int cl_cmd_serve(int argc, char **argv) { (void)argc; (void)argv; return 1; }
