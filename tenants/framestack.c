/* tenants._framestack: CPython's frame-stack chunks kept for reuse instead of unmapped and mapped again.
 *
 * Since Python 3.11 a thread's frames live in a stack of 16 KiB chunks. A call that does not fit in the
 * current chunk maps a new one (`_PyObject_VirtualAlloc`, which is mmap), and returning from the first frame
 * of a chunk unmaps it at once. A Django request goes up and down across such a boundary hundreds of times:
 * one run of the hostile-input walk mapped and unmapped 172,853 chunks, and every new mapping is page faults
 * as well as two system calls (tenants/framestack.py has the figures).
 *
 * `install()` puts an arena allocator in front of the present one (`PyObject_SetArenaAllocator`, CPython's
 * documented way to customise it) that keeps up to KEPT_MAX freed chunks of exactly CHUNK_SIZE bytes and
 * hands them out again. Everything else, and every chunk beyond those kept, goes to the previous allocator
 * unchanged, so a chunk mapped before `install()` may be kept and a kept one is unmapped by the allocator that
 * mapped it. The kept list is guarded by a mutex that is only ever tried: a thread that finds it taken (or a
 * child forked while another thread held it) passes straight to the previous allocator.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>

#define CHUNK_SIZE 16384 /* DATA_STACK_CHUNK_SIZE in CPython's Python/pystate.c (3.11 to 3.13) */
#define KEPT_MAX 32

static PyObjectArenaAllocator previous;
static int installed = 0;
static pthread_mutex_t guard = PTHREAD_MUTEX_INITIALIZER;
static void *kept[KEPT_MAX];
static int kept_count = 0;
static unsigned long long reused = 0;
static unsigned long long mapped = 0;

static void *keeping_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (size == CHUNK_SIZE && pthread_mutex_trylock(&guard) == 0) {
        void *chunk = NULL;
        if (kept_count > 0) {
            chunk = kept[--kept_count];
            reused++;
        } else {
            mapped++;
        }
        pthread_mutex_unlock(&guard);
        if (chunk != NULL) {
            return chunk;
        }
    }
    return previous.alloc(previous.ctx, size);
}

static void keeping_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    if (size == CHUNK_SIZE && ptr != NULL && pthread_mutex_trylock(&guard) == 0) {
        int keep = kept_count < KEPT_MAX;
        if (keep) {
            kept[kept_count++] = ptr;
        }
        pthread_mutex_unlock(&guard);
        if (keep) {
            return;
        }
    }
    previous.free(previous.ctx, ptr, size);
}

static PyObject *install(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (!installed) {
        PyObjectArenaAllocator keeping = {NULL, keeping_alloc, keeping_free};
        PyObject_GetArenaAllocator(&previous);
        PyObject_SetArenaAllocator(&keeping);
        installed = 1;
    }
    Py_RETURN_NONE;
}

static PyObject *stats(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return Py_BuildValue("{s:O,s:K,s:K,s:i}", "installed", installed ? Py_True : Py_False, "reused", reused,
                         "mapped", mapped, "kept", kept_count);
}

static PyMethodDef methods[] = {
    {"install", install, METH_NOARGS, "Keep freed frame-stack chunks for reuse (once per process)."},
    {"stats", stats, METH_NOARGS, "installed, chunks reused, chunks mapped since, chunks kept now."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_framestack", NULL, -1, methods};

PyMODINIT_FUNC PyInit__framestack(void)
{
    return PyModule_Create(&module);
}
