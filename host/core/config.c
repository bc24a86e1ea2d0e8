#include "core/config.h"
#include "core/seal.h"
#include "core/log.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

cl_config cl_cfg;

const char *cl_exe_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
        if (n <= 0) {
            strcpy(dir, ".");
        } else {
            dir[n] = '\0';
            char *slash = strrchr(dir, '/');
            if (slash)
                *slash = '\0';
        }
    }
    return dir;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int cl_config_load_env_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s = trim(s + 7);
        char *eq = strchr(s, '=');
        if (!eq || eq == s) {
            snprintf(err, errlen, "%s:%d: expected NAME=value", path, lineno);
            fclose(f);
            return -2;
        }
        *eq = '\0';
        char *name = trim(s);
        char *value = trim(eq + 1);
        for (char *p = name; *p; p++)
            if (!(isalnum((unsigned char)*p) || *p == '_')) {
                snprintf(err, errlen, "%s:%d: bad variable name '%s'", path, lineno, name);
                fclose(f);
                return -2;
            }
        size_t vl = strlen(value);
        if (vl >= 2 && (value[0] == '"' || value[0] == '\'') && value[vl - 1] == value[0]) {
            value[vl - 1] = '\0';
            value++;
        }
        setenv(name, value, 0);
    }
    fclose(f);
    return 0;
}

int cl_config_parse_int(const char *name, const char *value, long min, long max, long *out, char *err,
                        size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0') {
        snprintf(err, errlen, "%s=%s is not a whole number", name, value);
        return -1;
    }
    if (v < min || v > max) {
        snprintf(err, errlen, "%s=%ld is out of range (%ld..%ld)", name, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int cl_config_parse_bool(const char *name, const char *value, int *out, char *err, size_t errlen)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strcasecmp(value, yes[i]) == 0)
            return *out = 1, 0;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcasecmp(value, no[i]) == 0)
            return *out = 0, 0;
    snprintf(err, errlen, "%s=%s is not a boolean (use true or false)", name, value);
    return -1;
}

static int get_int(const char *name, long def, long min, long max, int *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    long n = def;
    if (v && *v && cl_config_parse_int(name, v, min, max, &n, err, errlen))
        return -1;
    *out = (int)n;
    return 0;
}

static int get_size(const char *name, long def, long min, long max, size_t *out, char *err,
                    size_t errlen)
{
    const char *v = getenv(name);
    long n = def;
    if (v && *v && cl_config_parse_int(name, v, min, max, &n, err, errlen))
        return -1;
    *out = (size_t)n;
    return 0;
}

static int get_bool(const char *name, int def, int *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    *out = def;
    return v ? cl_config_parse_bool(name, v, out, err, errlen) : 0;
}

static int get_str(const char *name, const char *def, char *out, size_t outlen, char *err,
                   size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v)
        v = def;
    if (strlen(v) >= outlen) {
        snprintf(err, errlen, "%s is too long (max %zu bytes)", name, outlen - 1);
        return -1;
    }
    strcpy(out, v);
    return 0;
}

static int is_ident(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* name's value must be an id ([a-z0-9_]+), as capability ids are. */
static int check_ident(const char *name, const char *value, const char *what, char *err, size_t errlen)
{
    if (is_ident(value))
        return 0;
    snprintf(err, errlen, "%s=%s is not %s (lower-case letters, digits, _)", name, value, what);
    return -1;
}

/* Every variable of the table that the host reads into cl_cfg, with the
   table's default and range. 0, or -1 with err naming the variable. */
static int load_table(cl_config *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < cl_config_var_count; i++) {
        const cl_config_var *v = &cl_config_vars[i];
        const char *d = v->def ? v->def : v->shown ? v->shown : "";
        char def[1100];
        if (strncmp(d, "<exe>", 5) == 0) {
            snprintf(def, sizeof def, "%s%s", cl_exe_dir(), d + 5);
            d = def;
        }
        void *field = (char *)c + v->off;
        long n = 0;
        int rc = 0;
        switch (v->type) {
        case CL_CFG_STR:
            rc = get_str(v->name, d, field, v->size, err, errlen);
            break;
        case CL_CFG_INT:
        case CL_CFG_SIZE:
            rc = cl_config_parse_int(v->name, d, v->min, v->max, &n, err, errlen);
            if (rc == 0 && v->type == CL_CFG_INT)
                rc = get_int(v->name, n, v->min, v->max, field, err, errlen);
            else if (rc == 0)
                rc = get_size(v->name, n, v->min, v->max, field, err, errlen);
            break;
        case CL_CFG_BOOL: {
            int b = 0;
            rc = cl_config_parse_bool(v->name, d, &b, err, errlen);
            if (rc == 0)
                rc = get_bool(v->name, b, field, err, errlen);
            break;
        }
        case CL_CFG_DOC:
            break;
        }
        if (rc)
            return -1;
    }
    return 0;
}

int cl_config_write_doc(FILE *f)
{
    for (size_t i = 0; i < cl_config_var_count; i++) {
        const cl_config_var *v = &cl_config_vars[i];
        fprintf(f, "%s%s%s=%s\n", v->before ? v->before : "", v->active ? "" : "# ", v->name,
                v->shown ? v->shown : "");
    }
    fputs(cl_config_doc_tail, f);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

int cl_cmd_config_doc(int argc, char **argv)
{
    (void)argv;
    if (argc > 2) {
        fprintf(stderr, "usage: cliploop config-doc > .env.example\n");
        return 2;
    }
    return cl_config_write_doc(stdout) == 0 ? 0 : 1;
}

int cl_config_load(char *err, size_t errlen)
{
    cl_config *c = &cl_cfg;
    memset(c, 0, sizeof *c);
    const char *envfile = getenv("CLIPLOOP_ENV_FILE");
    if (envfile && *envfile) {
        if (cl_config_load_env_file(envfile, err, errlen))
            return -1;
    } else if (access(".env", R_OK) == 0) {
        if (cl_config_load_env_file(".env", err, errlen))
            return -1;
    }

    if (load_table(c, err, errlen))
        return -1;
    /* storage_local reads the root from its own section (CLIPLOOP_STORAGE_DIR): give it the default too. */
    setenv("CLIPLOOP_STORAGE_DIR", c->storage_dir, 1);
    if (check_ident("STORAGE", c->storage, "a storage backend name", err, errlen) ||
        check_ident("LLM_PROVIDER", c->llm_provider, "a provider name", err, errlen) ||
        check_ident("RENDERER", c->renderer, "a renderer name", err, errlen))
        return -1;
    if (!c->tts_provider[0])
        snprintf(c->tts_provider, sizeof c->tts_provider, "none");
    if (!is_ident(c->tts_provider)) {
        snprintf(err, errlen, "TTS_PROVIDER=%s is not a text-to-speech engine name (espeak, openai_compat or none)",
                 c->tts_provider);
        return -1;
    }
    if (!c->billing_provider[0])
        snprintf(c->billing_provider, sizeof c->billing_provider, "none");
    if (check_ident("BILLING_PROVIDER", c->billing_provider, "a provider name", err, errlen))
        return -1;
    if (cl_log_set_level_name(c->log_level)) {
        snprintf(err, errlen, "CLIPLOOP_LOG_LEVEL=%s is not one of debug, info, warn, error", c->log_level);
        return -1;
    }
    size_t bl = strlen(c->public_base_url);
    while (bl > 0 && c->public_base_url[bl - 1] == '/')
        c->public_base_url[--bl] = '\0';
    if (bl && strncmp(c->public_base_url, "http://", 7) != 0 && strncmp(c->public_base_url, "https://", 8) != 0) {
        snprintf(err, errlen, "PUBLIC_BASE_URL=%s must start with https:// (or http://)", c->public_base_url);
        return -1;
    }
    /* The one default that depends on another variable (documented in the table). */
    if (get_str("MAIL_PROVIDER", c->mock_mode ? "mock" : "none", c->mail_provider, sizeof c->mail_provider, err,
                errlen)) return -1;
    if (!is_ident(c->mail_provider)) {
        snprintf(err, errlen, "MAIL_PROVIDER=%s is not a mailer name (smtp, mock or none)", c->mail_provider);
        return -1;
    }
    {
        /* A bare address: it goes into MAIL FROM and the From header. */
        const char *at = strchr(c->mail_from, '@');
        int ok = at && at != c->mail_from && at[1] && !strchr(at + 1, '@');
        for (const char *p = c->mail_from; ok && *p; p++)
            ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && !strchr("<>\"(),;:[]\\", *p);
        if (!ok) {
            snprintf(err, errlen, "MAIL_FROM=%s is not a bare e-mail address (name@example.com)", c->mail_from);
            return -1;
        }
    }
    {
        cl_keyring kr;
        int bad = cl_keyring_init(&kr, getenv("ENCRYPTION_SECRET"), getenv("ENCRYPTION_SECRET_PREVIOUS"), err, errlen);
        cl_keyring_wipe(&kr);
        if (bad)
            return -1;
    }

    const char *ports = getenv("CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS");
    if (ports && cl_config_parse_ports("CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS", ports,
                                       c->http_allow_loopback_ports, CL_CONFIG_MAX_LOOPBACK_PORTS,
                                       &c->http_allow_loopback_port_count, err, errlen))
        return -1;
    return 0;
}

int cl_config_parse_ports(const char *name, const char *value, int *out, int max, int *count,
                          char *err, size_t errlen)
{
    *count = 0;
    const char *p = value;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return 0; /* empty = not set */
    int n = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *start = p;
        long v = 0;
        for (; isdigit((unsigned char)*p); p++)
            if (v <= 65535) /* stop growing once out of range; still consume the digits */
                v = v * 10 + (*p - '0');
        const char *end = p;
        while (*p == ' ' || *p == '\t')
            p++;
        if (end == start || (*p && *p != ',')) {
            snprintf(err, errlen, "%s=%s is not a comma-separated list of port numbers", name, value);
            return -1;
        }
        if (v < 1 || v > 65535) {
            snprintf(err, errlen, "%s=%s: port %.*s is out of range (1..65535)", name, value,
                     (int)(end - start), start);
            return -1;
        }
        if (n == max) {
            snprintf(err, errlen, "%s=%s lists more than %d ports", name, value, max);
            return -1;
        }
        out[n++] = (int)v;
        if (!*p)
            break;
        p++; /* the comma; an entry must follow */
    }
    *count = n;
    return 0;
}
