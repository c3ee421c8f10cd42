/* The optional C accelerator of batteryloop's Merkle trees (batteryloop.ledger.core.merkle).

RFC 6962 section 2.1 hashing of many 32-byte values in one call: leaf = SHA-256(0x00 || d), node =
SHA-256(0x01 || left || right). The pure-Python code makes one hashlib call per hash, and that call's overhead
(about 0.4 us) costs more than the hash itself; here a batch of 10,000 leaves is one call. The hashes are
OpenSSL's (libcrypto's SHA256_Init/Update/Final, which use the CPU's SHA extensions where it has them), the
same library hashlib.sha256 uses. hatch_build.py compiles this file when a C compiler and OpenSSL's headers
are there; without them the package runs the pure-Python code, which gives the same hashes (tested). The GIL
is released while hashing. Every function checks its buffer's length and returns a new bytes object. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <openssl/sha.h>

#define H 32

static inline void sha256(const unsigned char *m, size_t n, unsigned char *out) {
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, m, n);
    SHA256_Final(out, &c);
}

/* RFC 6962's two hashes, and a leaf pair's parent: each reads `unit` bytes at `in`, writes 32 at `out`. */
static void leaf_one(const unsigned char *in, unsigned char *out) {
    unsigned char msg[1 + H];
    msg[0] = 0;
    memcpy(msg + 1, in, H);
    sha256(msg, sizeof msg, out);
}

static void parent_one(const unsigned char *in, unsigned char *out) {
    unsigned char msg[1 + 2 * H];
    msg[0] = 1;
    memcpy(msg + 1, in, 2 * H);
    sha256(msg, sizeof msg, out);
}

static void leaf_parent_one(const unsigned char *in, unsigned char *out) {
    unsigned char node[2 * H];
    leaf_one(in, node);
    leaf_one(in + H, node + H);
    parent_one(node, out);
}

/* `one` applied to each `unit`-byte piece of the buffer `arg`, the 32-byte results concatenated; ValueError
   when the buffer's length is not a multiple of `unit`. The GIL is released while hashing. */
static PyObject *hash_each(PyObject *arg, Py_ssize_t unit,
                           void (*one)(const unsigned char *, unsigned char *)) {
    Py_buffer v;
    if (PyObject_GetBuffer(arg, &v, PyBUF_SIMPLE) < 0) return NULL;
    if (v.len % unit) {
        PyErr_Format(PyExc_ValueError, "expected a multiple of %zd bytes, got %zd", unit, v.len);
        PyBuffer_Release(&v);
        return NULL;
    }
    Py_ssize_t n = v.len / unit;
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * H);
    if (out == NULL) {
        PyBuffer_Release(&v);
        return NULL;
    }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    const unsigned char *src = v.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) one(src + i * unit, dst + i * H);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&v);
    return out;
}

static PyObject *leaves(PyObject *self, PyObject *arg) { return hash_each(arg, H, leaf_one); }
static PyObject *parents(PyObject *self, PyObject *arg) { return hash_each(arg, 2 * H, parent_one); }
static PyObject *leaf_parents(PyObject *self, PyObject *arg) { return hash_each(arg, 2 * H, leaf_parent_one); }

static PyMethodDef methods[] = {
    {"leaves", leaves, METH_O, "SHA-256(0x00 || d) of each 32-byte d of the buffer, concatenated."},
    {"parents", parents, METH_O, "SHA-256(0x01 || l || r) of each 64-byte pair of the buffer, concatenated."},
    {"leaf_parents", leaf_parents, METH_O, "parents(leaves(buffer)) in one pass (an even number of leaves)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_merkle", "RFC 6962 hashing of many 32-byte values per call (see merkle.py).", -1,
    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__merkle(void) { return PyModule_Create(&module); }
