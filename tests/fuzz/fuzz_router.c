/*
 * fuzz_router.c — libFuzzer target: the router with the real route table.
 * Registers every route `cliploop serve` registers (test routes included),
 * then matches "<METHOD> <path>" from the input for that method and for
 * GET and POST, runs the boundary check (cl_req_validate) on what matched,
 * and reads every captured parameter as text and as an id. Invariants: a
 * match captures at most CL_MAX_PATH_PARAMS non-NULL parameters, and a path
 * that matches for some method never answers "no such path" for another.
 */
#include "core/config.h"
#include "http/http.h"
#include "http/server.h"

#include "fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cl_cfg.test_routes = 1;
    cl_serve_register_routes();
    return 0;
}

/* Match method+path into a fresh request; returns the router's answer. */
static int match(const char *method, const char *path)
{
    cl_req req;
    memset(&req, 0, sizeof req);
    req.method = strdup(method);
    req.path = strdup(path);
    req.query = strdup("");
    cl_handler_fn fn = NULL;
    unsigned flags = 0;
    int m = cl_router_match(req.method, req.path, &fn, &flags, &req);
    if (m == 1) {
        if (!fn || req.nparams > CL_MAX_PATH_PARAMS)
            abort();
        for (size_t i = 0; i < req.nparams; i++) {
            if (!req.params[i].name || !req.params[i].value)
                abort();
            (void)cl_req_param(&req, req.params[i].name);
            (void)cl_req_param_id(&req, req.params[i].name);
        }
        cl_res res;
        memset(&res, 0, sizeof res);
        (void)cl_req_validate(&req, &res);
        cl_res_clear(&res);
    }
    cl_req_clear(&req);
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *line = fuzz_line(&p, end);
    char *sp = strchr(line, ' ');
    const char *method = "GET", *path = line;
    if (sp) {
        *sp = '\0';
        method = line;
        path = sp + 1;
    }
    int a = match(method, path), g = match("GET", path), po = match("POST", path);
    /* "no such path" (0) for one method and a match for another cannot both hold. */
    if ((a == 0 || g == 0 || po == 0) && (a == 1 || g == 1 || po == 1))
        abort();
    free(line);
    return 0;
}
