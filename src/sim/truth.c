/* The ground-truth log: one JSON object per line, one write(2) per line, nothing buffered. */
#include "sim.h"

#include "log.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Opens for appending so that a restarted simulator adds to the same record. */
int sim_truth_open(struct sim *sim, const char *path)
{
    sim->truth_fd = -1;
    if (path == NULL)
        return 0;
    sim->truth_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return sim->truth_fd < 0 ? -1 : 0;
}

/* Closes the file. */
void sim_truth_close(struct sim *sim)
{
    if (sim->truth_fd >= 0)
        close(sim->truth_fd);
    sim->truth_fd = -1;
}

/* Starts a line. */
cJSON *sim_truth_line(const char *type)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "type", type);
    return o;
}

/* Serialises and writes one line, whole. */
void sim_truth_write(struct sim *sim, cJSON *line)
{
    char *text;
    size_t len, off = 0;

    if (sim->truth_fd < 0) {
        cJSON_Delete(line);
        return;
    }
    if (!cJSON_HasObjectItem(line, "at"))
        cJSON_AddNumberToObject(line, "at", (double)util_wall_ms());
    text = cJSON_PrintUnformatted(line);
    cJSON_Delete(line);
    if (text == NULL)
        return;
    len = strlen(text);
    text[len] = '\n';             /* replaces the NUL: the buffer is only written, not printed */
    len++;
    while (off < len) {
        ssize_t n = write(sim->truth_fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            log_error("sim.truth_write", "error=%s", log_q(strerror(errno)));
            break;
        }
        off += (size_t)n;
    }
    free(text);
}
