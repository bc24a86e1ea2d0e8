/*
 * jschema.c — the JSON Schema subset of jschema.h, over cJSON.
 */
#include "core/jschema.h"
#include "core/config.h"
#include "core/buf.h"
#include "cliploop_plugin.h" /* CL_PRINTF */

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DEPTH 32

typedef struct loaded {
    struct loaded *next;
    char *file;   /* "promo_draft.schema.json" */
    cJSON *schema;
} loaded;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static loaded *cache;

static void path_of(const char *file, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", cl_cfg.schema_dir[0] ? cl_cfg.schema_dir : "sdk/schemas", file);
}

/* The parsed schema in file, read on first use; NULL when unreadable. */
static const cJSON *schema_file(const char *file)
{
    pthread_mutex_lock(&lock);
    const loaded *l = cache;
    while (l && strcmp(l->file, file) != 0)
        l = l->next;
    if (!l) {
        char path[1280];
        path_of(file, path, sizeof path);
        FILE *f = fopen(path, "rb");
        char *text = NULL;
        size_t cap = 0, len = 0, n;
        char chunk[4096];
        while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (len + n + 1 > cap) {
                char *t = realloc(text, cap = (len + n + 1) * 2);
                if (!t)
                    break;
                text = t;
            }
            memcpy(text + len, chunk, n);
            len += n;
        }
        if (f)
            fclose(f);
        cJSON *s = text ? cJSON_ParseWithLength(text, len) : NULL;
        free(text);
        loaded *nl = cJSON_IsObject(s) ? calloc(1, sizeof *nl) : NULL;
        if (nl && (nl->file = strdup(file))) {
            nl->schema = s;
            nl->next = cache;
            cache = nl;
            l = nl;
        } else {
            free(nl);
            cJSON_Delete(s);
        }
    }
    pthread_mutex_unlock(&lock);
    return l ? l->schema : NULL;
}

typedef struct check {
    char *why;
    size_t whylen;
    char where[256]; /* "posts[2].script" */
} check;

static int fail(check *c, const char *fmt, ...) CL_PRINTF(2, 3);
static int fail(check *c, const char *fmt, ...)
{
    int n = snprintf(c->why, c->whylen, "%s%s", c->where[0] ? c->where : "the answer", ": ");
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < c->whylen)
        vsnprintf(c->why + n, c->whylen - (size_t)n, fmt, ap);
    va_end(ap);
    return 1;
}

static const char *type_of(const cJSON *v)
{
    if (cJSON_IsObject(v))
        return "object";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsBool(v))
        return "boolean";
    return "null";
}

static int type_is(const cJSON *v, const char *t)
{
    if (strcmp(t, "integer") == 0)
        return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
    return strcmp(t, type_of(v)) == 0;
}

static int validate(check *c, const cJSON *schema, const cJSON *v, int depth);

/* Run validate with where extended by a key or an index, then restore it. */
static int validate_at(check *c, const cJSON *schema, const cJSON *v, const char *key, int index, int depth)
{
    size_t len = strlen(c->where);
    if (key)
        snprintf(c->where + len, sizeof c->where - len, "%s%s", len ? "." : "", key);
    else
        snprintf(c->where + len, sizeof c->where - len, "[%d]", index);
    int rc = validate(c, schema, v, depth + 1);
    c->where[len] = '\0';
    return rc;
}

static int check_type(check *c, const cJSON *t, const cJSON *v)
{
    if (cJSON_IsString(t))
        return type_is(v, t->valuestring) ? 0 : fail(c, "must be %s, is %s", t->valuestring, type_of(v));
    const cJSON *e;
    cJSON_ArrayForEach(e, t) if (cJSON_IsString(e) && type_is(v, e->valuestring)) return 0;
    char *names = cJSON_PrintUnformatted(t);
    fail(c, "must be one of the types %s, is %s", names ? names : "?", type_of(v));
    free(names);
    return 1;
}

static int check_object(check *c, const cJSON *schema, const cJSON *v, int depth)
{
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(schema, "required"), *e;
    cJSON_ArrayForEach(e, req)
    {
        const cJSON *f = cJSON_IsString(e) ? cJSON_GetObjectItemCaseSensitive(v, e->valuestring) : NULL;
        if (cJSON_IsString(e) && (!f || cJSON_IsNull(f)))
            return fail(c, "'%s' is missing", e->valuestring);
    }
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties");
    cJSON_ArrayForEach(e, v)
    {
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(props, e->string);
        if (ps) {
            if (validate_at(c, ps, e, e->string, 0, depth))
                return 1;
        } else if (cJSON_IsFalse(extra)) {
            return fail(c, "'%s' is not allowed", e->string);
        } else if (cJSON_IsObject(extra) && validate_at(c, extra, e, e->string, 0, depth)) {
            return 1;
        }
    }
    return 0;
}

static int check_array(check *c, const cJSON *schema, const cJSON *v, int depth)
{
    int n = cJSON_GetArraySize(v);
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(schema, "minItems");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(schema, "maxItems");
    if (cJSON_IsNumber(min) && n < min->valueint)
        return fail(c, "at least %d item%s, has %d", min->valueint, min->valueint == 1 ? "" : "s", n);
    if (cJSON_IsNumber(max) && n > max->valueint)
        return fail(c, "at most %d item%s, has %d", max->valueint, max->valueint == 1 ? "" : "s", n);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items"), *e;
    int i = 0;
    if (cJSON_IsObject(items))
        cJSON_ArrayForEach(e, v) if (validate_at(c, items, e, NULL, i++, depth)) return 1;
    return 0;
}

static int check_scalar(check *c, const cJSON *schema, const cJSON *v)
{
    const cJSON *k;
    if (cJSON_IsString(v)) {
        size_t n = cl_utf8_chars(v->valuestring);
        if (cJSON_IsNumber(k = cJSON_GetObjectItemCaseSensitive(schema, "minLength")) && n < (size_t)k->valueint)
            return n ? fail(c, "at least %d characters, has %zu", k->valueint, n) : fail(c, "must not be empty");
        if (cJSON_IsNumber(k = cJSON_GetObjectItemCaseSensitive(schema, "maxLength")) && n > (size_t)k->valueint)
            return fail(c, "at most %d characters, has %zu", k->valueint, n);
    }
    if (cJSON_IsNumber(v)) {
        if (cJSON_IsNumber(k = cJSON_GetObjectItemCaseSensitive(schema, "minimum")) && v->valuedouble < k->valuedouble)
            return fail(c, "must be at least %g, is %g", k->valuedouble, v->valuedouble);
        if (cJSON_IsNumber(k = cJSON_GetObjectItemCaseSensitive(schema, "maximum")) && v->valuedouble > k->valuedouble)
            return fail(c, "must be at most %g, is %g", k->valuedouble, v->valuedouble);
    }
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(schema, "enum"), *e;
    if (cJSON_IsArray(en)) {
        cJSON_ArrayForEach(e, en) if (cJSON_Compare(e, v, 1)) return 0;
        char *allowed = cJSON_PrintUnformatted(en);
        fail(c, "must be one of %s", allowed ? allowed : "the listed values");
        free(allowed);
        return 1;
    }
    return 0;
}

static int validate(check *c, const cJSON *schema, const cJSON *v, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(c, "nested too deeply");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(schema, "$ref");
    if (cJSON_IsString(k)) {
        const cJSON *target = strchr(k->valuestring, '/') ? NULL : schema_file(k->valuestring);
        if (!target)
            return fail(c, "schema $ref '%s' cannot be read", k->valuestring);
        if (validate(c, target, v, depth + 1))
            return 1;
    }
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(schema, "allOf"), *e;
    cJSON_ArrayForEach(e, all) if (validate(c, e, v, depth + 1)) return 1;
    if ((k = cJSON_GetObjectItemCaseSensitive(schema, "type")) && check_type(c, k, v))
        return 1;
    if (cJSON_IsObject(v))
        return check_object(c, schema, v, depth);
    if (cJSON_IsArray(v))
        return check_array(c, schema, v, depth);
    return check_scalar(c, schema, v);
}

int cl_jschema_check(const char *name, const cJSON *instance, char *why, size_t whylen)
{
    char file[160];
    snprintf(file, sizeof file, "%s.schema.json", name);
    const cJSON *schema = schema_file(file);
    if (!schema) {
        char path[1280];
        path_of(file, path, sizeof path);
        snprintf(why, whylen, "the schema %s cannot be read (CLIPLOOP_SCHEMA_DIR)", path);
        return -1;
    }
    check c = {why, whylen, ""};
    return validate(&c, schema, instance, 0);
}

int cl_jschema_exists(const char *name)
{
    char file[160], path[1280];
    snprintf(file, sizeof file, "%s.schema.json", name);
    path_of(file, path, sizeof path);
    return access(path, R_OK) == 0;
}

void cl_jschema_reset_for_tests(void)
{
    pthread_mutex_lock(&lock);
    for (loaded *l = cache, *next; l; l = next) {
        next = l->next;
        free(l->file);
        cJSON_Delete(l->schema);
        free(l);
    }
    cache = NULL;
    pthread_mutex_unlock(&lock);
}
