/*
 * llm_cmd.c — `cliploop llm-complete --provider ID [--purpose P] [--json]
 * [--system TEXT] [--dir DIR] PROMPT`: one call of an llm_provider, exactly
 * as the host makes it (the same call wrapper), for plugin authors and
 * operators. PROMPT "-" reads the prompt from stdin.
 *
 * Prints the answer on stdout and one line on stderr with the model and the
 * token counts. With --json the answer must be one JSON object, and when
 * sdk/schemas/<purpose>.schema.json exists it is checked against it — the
 * same check the host makes before using an answer.
 *
 * Exit codes: 0 answered (and conforms), 1 the call failed (the status and
 * message are printed), 3 the answer does not conform, 2 bad usage or no
 * such provider.
 */
#include "commands.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/jschema.h"
#include "core/log.h"
#include "net/http_client.h"
#include "plugins/call.h"
#include "plugins/llm.h"
#include "plugins/registry.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: cliploop llm-complete --provider ID [--purpose P] [--json] [--system TEXT]\n"
                    "                             [--dir DIR] PROMPT   (PROMPT - reads stdin)\n");
    return 2;
}

/* The value of --name VALUE or --name=VALUE at argv[*i], advancing *i; NULL if argv[*i] is not it. */
static const char *opt(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int cl_cmd_llm_complete(int argc, char **argv)
{
    const char *provider = NULL, *purpose = "chat", *system = NULL, *dir = cl_cfg.plugin_dir, *prompt = NULL, *v;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if ((v = opt(argc, argv, &i, "--provider")))
            provider = v;
        else if ((v = opt(argc, argv, &i, "--purpose")))
            purpose = v;
        else if ((v = opt(argc, argv, &i, "--system")))
            system = v;
        else if ((v = opt(argc, argv, &i, "--dir")))
            dir = v;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if ((argv[i][0] == '-' && argv[i][1] != '\0') || prompt)
            return usage();
        else
            prompt = argv[i];
    }
    if (!provider || !prompt)
        return usage();
    if (cl_http_global_init() != 0 || cl_plugins_load_dir(dir) < 0) {
        fprintf(stderr, "llm-complete: cannot read the plugin directory %s\n", dir);
        return 2;
    }
    cl_buf stdin_buf = CL_BUF_INIT;
    char *in = strcmp(prompt, "-") == 0 ? (cl_buf_read_stream(&stdin_buf, stdin, 1u << 20), cl_buf_steal(&stdin_buf)) : NULL;
    cl_llm_request req = {.size = sizeof req, .purpose = purpose, .system = system,
                          .prompt = in ? in : prompt, .json_output = json};
    cl_llm_usage use;
    cl_error err = CL_ERROR_INIT;
    char *text = NULL;
    size_t len = 0;
    int rc = cl_llm_complete(NULL, provider, &req, &text, &len, &use, &err);
    free(in);
    if (rc == CL_EUNSUPPORTED && !cl_plugins_find(CL_CAP_LLM_PROVIDER, provider)) {
        fprintf(stderr, "llm-complete: no loaded plugin in %s provides an llm_provider named '%s' "
                        "(see cliploop plugins --dir %s)\n", dir, provider, dir);
        return 2;
    }
    if (rc != CL_OK) {
        fprintf(stderr, "llm-complete: %s failed with %s (%d): %s\n", provider, cl_plugins_status_name(rc), rc,
                err.message);
        return 1;
    }
    printf("%s\n", text);
    fflush(stdout);
    fprintf(stderr, "llm-complete: %s answered %zu bytes (model %s, %d prompt + %d completion tokens)\n", provider,
            len, use.model[0] ? use.model : "?", use.prompt_tokens, use.completion_tokens);
    int code = 0;
    if (json) {
        char why[512] = "";
        cJSON *answer = cJSON_ParseWithLength(text, len);
        if (!cJSON_IsObject(answer)) {
            fprintf(stderr, "llm-complete: the answer is not one JSON object\n");
            code = 3;
        } else if (cl_jschema_exists(purpose) && cl_jschema_check(purpose, answer, why, sizeof why) != 0) {
            fprintf(stderr, "llm-complete: the answer does not match %s.schema.json: %s\n", purpose, why);
            code = 3;
        } else {
            fprintf(stderr, "llm-complete: the answer is one JSON object%s%s%s\n",
                    cl_jschema_exists(purpose) ? " matching " : "", cl_jschema_exists(purpose) ? purpose : "",
                    cl_jschema_exists(purpose) ? ".schema.json" : " (no schema for this purpose)");
        }
        cJSON_Delete(answer);
    }
    free(text);
    return code;
}
