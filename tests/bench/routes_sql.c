/*
 * routes_sql.c — prints the SQL text of the statements the studio's read
 * routes run, from the same static library the host links, so
 * tests/bench/routes hands pgbench the very statements the host prepares.
 *
 *   routes_sql session|session_user|projects|content|chats
 *
 * content and chats: the statements of the requests the studio makes
 * (no search, no project filter).
 */
#include "auth/auth.h"
#include "chat/chat.h"
#include "content/content.h"
#include "projects/projects.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        const cl_db_stmt *st;
    } all[] = {
        {"session", &cl_auth_session_stmt},
        {"session_user", &cl_auth_session_user_stmt},
        {"projects", &cl_projects_list_stmt},
        {"content", &cl_content_list_stmt},
        {"chats", &cl_chat_list_stmt},
    };
    for (size_t i = 0; argc == 2 && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(argv[1], all[i].name) == 0) {
            puts(all[i].st->sql);
            return 0;
        }
    fprintf(stderr, "usage: routes_sql session|session_user|projects|content|chats\n");
    return 2;
}
