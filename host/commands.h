/*
 * commands.h — the subcommands of the cliploop program. Each returns the
 * process exit code (0 ok, 1 runtime failure, 2 usage/configuration error).
 * argv[0] is the subcommand name.
 */
#ifndef CL_COMMANDS_H
#define CL_COMMANDS_H

int cl_cmd_serve(int argc, char **argv);   /* http/serve.c */
int cl_cmd_worker(int argc, char **argv);  /* jobs/worker.c */
int cl_cmd_migrate(int argc, char **argv); /* db/migrate_cmd.c */
int cl_cmd_plugins(int argc, char **argv); /* plugins/plugins_cmd.c */
int cl_cmd_jobs(int argc, char **argv);    /* jobs/jobs_cmd.c */
int cl_cmd_render_file(int argc, char **argv); /* render/render_cmd.c */
int cl_cmd_storage(int argc, char **argv);     /* storage/storage_cmd.c */
int cl_cmd_llm_complete(int argc, char **argv); /* plugins/llm_cmd.c */
int cl_cmd_tts_file(int argc, char **argv);     /* tts/tts_cmd.c */

int cl_cmd_media(int argc, char **argv);         /* media/media_cmd.c */

#endif
