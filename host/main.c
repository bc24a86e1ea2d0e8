/*
 * main.c — the cliploop program: one binary, several subcommands.
 */
#include "commands.h"
#include "core/config.h"
#include "core/log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"serve", cl_cmd_serve, "HTTP host + API + web studio; supervises worker processes"},
    {"worker", cl_cmd_worker, "claim durable jobs from Postgres and run them"},
    {"migrate", cl_cmd_migrate, "apply migrations/NNNN_name.sql in order (idempotent)"},
    {"plugins", cl_cmd_plugins, "list plugins, their ABI and capabilities, and refusals"},
    {"jobs", cl_cmd_jobs, "enqueue or inspect durable jobs (operators, tests)"},
    {"render-file", cl_cmd_render_file, "render COMPOSITION.json into OUT_DIR (--renderer ID)"},
    {"media", cl_cmd_media, "a project's kept media and brand kit as renders see them (list, get, brand)"},
    {"storage", cl_cmd_storage, "put, get, read, stat, rm or sign a URL for a stored file (STORAGE)"},
    {"config-doc", cl_cmd_config_doc, "print .env.example: every configuration variable, its default and meaning"},
    {"llm-complete", cl_cmd_llm_complete, "one llm_provider call: --provider ID [--purpose P] [--json] PROMPT"},
    {"tts-file", cl_cmd_tts_file, "one voiceover synthesis: [--provider ID] [--language TAG] TEXT OUT"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: cliploop <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nConfiguration comes from the environment and an optional .env file;\n"
               "see .env.example for every variable.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    signal(SIGPIPE, SIG_IGN);
    /* A write past a file-size limit (RLIMIT_FSIZE) fails with EFBIG like a
       full disk, and the job that wrote it fails cleanly, instead of the
       signal killing the whole process with every other running job. */
    signal(SIGXFSZ, SIG_IGN);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        char err[512];
        if (cl_config_load(err, sizeof err) != 0) {
            cl_error("config", "%s", err);
            return 2;
        }
        return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "cliploop: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
