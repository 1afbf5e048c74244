/* meta.json read/write (meta.h). */
#include "meta.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockio.h"
#include "ulid.h"

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const tsdb_meta_file *)a)->rel_path, ((const tsdb_meta_file *)b)->rel_path);
}

static json_t *build(const tsdb_block_meta *m, const tsdb_meta_file *files, size_t nfiles)
{
    json_t *root = json_object();
    json_t *stats = json_object();
    json_t *comp = json_object();
    json_t *sources = json_array();
    if (!root || !stats || !comp || !sources)
        goto fail;
    json_object_set_new(root, "ulid", json_string(m->ulid));
    json_object_set_new(root, "minTime", json_integer(m->mint));
    json_object_set_new(root, "maxTime", json_integer(m->maxt));
    /* Go omits zero stats (omitempty); so do we. */
    if (m->num_samples)
        json_object_set_new(stats, "numSamples", json_integer((json_int_t)m->num_samples));
    if (m->num_series)
        json_object_set_new(stats, "numSeries", json_integer((json_int_t)m->num_series));
    if (m->num_chunks)
        json_object_set_new(stats, "numChunks", json_integer((json_int_t)m->num_chunks));
    json_object_set_new(root, "stats", stats);
    stats = NULL;
    json_object_set_new(comp, "level", json_integer(m->compaction_level));
    json_array_append_new(sources, json_string(m->ulid));
    json_object_set_new(comp, "sources", sources);
    sources = NULL;
    json_object_set_new(root, "compaction", comp);
    comp = NULL;
    json_object_set_new(root, "version", json_integer(1));
    if (m->thanos_source[0]) {
        json_t *th = json_object(), *lb = json_object(), *ds = json_object(), *fl = json_array();
        if (!th || !lb || !ds || !fl) {
            json_decref(th);
            json_decref(lb);
            json_decref(ds);
            json_decref(fl);
            goto fail;
        }
        for (size_t i = 0; i < m->n_thanos_labels; i++) {
            const labels_label *l = &m->thanos_labels[i];
            char *name = strndup(l->name, l->name_len);
            if (name)
                json_object_set_new(lb, name, json_stringn(l->value, l->value_len));
            free(name);
        }
        json_object_set_new(th, "labels", lb);
        json_object_set_new(ds, "resolution", json_integer(m->downsample_resolution));
        json_object_set_new(th, "downsample", ds);
        json_object_set_new(th, "source", json_string(m->thanos_source));
        tsdb_meta_file *sorted = malloc((nfiles + 1) * sizeof(*sorted));
        if (sorted) {
            memcpy(sorted, files, nfiles * sizeof(*sorted));
            sorted[nfiles] = (tsdb_meta_file){"meta.json", 0};
            qsort(sorted, nfiles + 1, sizeof(*sorted), cmp_file);
            for (size_t i = 0; i < nfiles + 1; i++) {
                json_t *f = json_object();
                json_object_set_new(f, "rel_path", json_string(sorted[i].rel_path));
                if (strcmp(sorted[i].rel_path, "meta.json"))
                    json_object_set_new(f, "size_bytes", json_integer((json_int_t)sorted[i].size));
                json_array_append_new(fl, f);
            }
            free(sorted);
        }
        json_object_set_new(th, "files", fl);
        json_object_set_new(root, "thanos", th);
    }
    return root;
fail:
    json_decref(root);
    json_decref(stats);
    json_decref(comp);
    json_decref(sources);
    return NULL;
}

int tsdb_meta_write(const char *dir, const tsdb_block_meta *m, const tsdb_meta_file *files,
                    size_t nfiles, bool sync, char *err, size_t errlen)
{
    json_t *root = build(m, files, nfiles);
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text) {
        snprintf(err, errlen, "meta.json: out of memory");
        return -ENOMEM;
    }
    char tmp[4096], path[4096];
    if (tsdb_pathf(tmp, sizeof(tmp), "%s/meta.json.tmp", dir) ||
        tsdb_pathf(path, sizeof(path), "%s/meta.json", dir)) {
        free(text);
        snprintf(err, errlen, "meta.json: path too long");
        return -ENAMETOOLONG;
    }
    tsdb_fw fw;
    int rc = tsdb_fw_open(&fw, tmp);
    if (!rc) {
        tsdb_fw_write(&fw, text, strlen(text));
        tsdb_fw_write(&fw, "\n", 1);
    }
    rc = tsdb_fw_close(&fw, sync);
    free(text);
    if (!rc && rename(tmp, path) < 0)
        rc = -errno;
    if (rc) {
        unlink(tmp);
        snprintf(err, errlen, "write %s: %s", path, strerror(-rc));
    }
    return rc;
}

static int corrupt(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "meta.json: %s", what);
    return TSDB_ERR_CORRUPT;
}

int tsdb_meta_parse(const char *json, size_t len, tsdb_block_meta *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "meta.json: %s (line %d)", je.text, je.line);
        return TSDB_ERR_CORRUPT;
    }
    int rc = 0;
    json_t *v;
    tsdb_ulid u;
    if (!json_is_object(root)) {
        rc = corrupt(err, errlen, "not an object");
        goto out;
    }
    v = json_object_get(root, "version");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        rc = corrupt(err, errlen, "unsupported version");
        goto out;
    }
    v = json_object_get(root, "ulid");
    if (!json_is_string(v) || !tsdb_ulid_parse(json_string_value(v), &u)) {
        rc = corrupt(err, errlen, "bad ulid");
        goto out;
    }
    tsdb_ulid_format(&u, out->ulid);
    json_t *mi = json_object_get(root, "minTime"), *ma = json_object_get(root, "maxTime");
    if (!json_is_integer(mi) || !json_is_integer(ma)) {
        rc = corrupt(err, errlen, "missing minTime/maxTime");
        goto out;
    }
    out->mint = json_integer_value(mi);
    out->maxt = json_integer_value(ma);
    json_t *st = json_object_get(root, "stats");
    if (json_is_object(st)) {
        json_int_t x;
        if ((x = json_integer_value(json_object_get(st, "numSamples"))) > 0)
            out->num_samples = (uint64_t)x;
        if ((x = json_integer_value(json_object_get(st, "numSeries"))) > 0)
            out->num_series = (uint64_t)x;
        if ((x = json_integer_value(json_object_get(st, "numChunks"))) > 0)
            out->num_chunks = (uint64_t)x;
    }
    json_t *comp = json_object_get(root, "compaction");
    if (json_is_object(comp))
        out->compaction_level = (int)json_integer_value(json_object_get(comp, "level"));
    json_t *th = json_object_get(root, "thanos");
    if (json_is_object(th)) {
        json_t *src = json_object_get(th, "source");
        if (json_is_string(src))
            snprintf(out->thanos_source, sizeof(out->thanos_source), "%s", json_string_value(src));
        json_t *ds = json_object_get(th, "downsample");
        if (json_is_object(ds))
            out->downsample_resolution = json_integer_value(json_object_get(ds, "resolution"));
        json_t *lb = json_object_get(th, "labels");
        if (json_is_object(lb) && json_object_size(lb)) {
            size_t n = json_object_size(lb), bytes = n * sizeof(labels_label);
            const char *k;
            json_t *val;
            json_object_foreach(lb, k, val)
            {
                if (!json_is_string(val)) {
                    rc = corrupt(err, errlen, "thanos.labels: non-string value");
                    goto out;
                }
                bytes += strlen(k) + 1 + json_string_length(val) + 1;
            }
            labels_label *ls = malloc(bytes);
            if (!ls) {
                rc = -ENOMEM;
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            char *s = (char *)(ls + n);
            size_t i = 0;
            json_object_foreach(lb, k, val)
            {
                size_t kl = strlen(k), vl = json_string_length(val);
                memcpy(s, k, kl + 1);
                ls[i].name = s;
                ls[i].name_len = (uint32_t)kl;
                s += kl + 1;
                memcpy(s, json_string_value(val), vl);
                s[vl] = 0;
                ls[i].value = s;
                ls[i].value_len = (uint32_t)vl;
                s += vl + 1;
                i++;
            }
            /* Sorted by name, as label sets are everywhere else. */
            for (size_t a = 1; a < n; a++)
                for (size_t b = a; b > 0 && strcmp(ls[b - 1].name, ls[b].name) > 0; b--) {
                    labels_label t = ls[b];
                    ls[b] = ls[b - 1];
                    ls[b - 1] = t;
                }
            out->thanos_labels = ls;
            out->n_thanos_labels = n;
        }
    }
out:
    json_decref(root);
    return rc;
}

void tsdb_meta_free(tsdb_block_meta *m)
{
    free(m->thanos_labels);
    m->thanos_labels = NULL;
    m->n_thanos_labels = 0;
}
