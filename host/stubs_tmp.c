/* Temporary stubs replaced as each part lands. */
#include "commands.h"
#include "jobs/supervisor.h"
#include "net/http_client.h"
#include "plugins/registry.h"
#include <stdio.h>
#include <string.h>
