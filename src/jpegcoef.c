/*
 * cinb.codecs._jpegcoef: lossless JPEG rewrites at the coefficient level, through libjpeg(-turbo)'s
 * public transcoding API (jpeg_read_coefficients / jpeg_copy_critical_parameters /
 * jpeg_write_coefficients, as jpegtran does).
 *
 *   optimize(data) -> bytes
 *       Same coefficients and quantisation tables (identical decoded pixels), Huffman tables optimised
 *       for this image, sequential (baseline when the source is 8-bit Huffman), APPn and COM markers
 *       copied verbatim and in order (JFIF, EXIF, ICC, XMP, Adobe).
 *   merge(low, high, take) -> bytes
 *       Two encodes of the same image with the same geometry, sampling and table assignment: the
 *       coefficients (and quantisation table entries) at the positions ``take`` marks come from
 *       ``high``, every other one from ``low``. ``take`` is 64 bytes per quantisation table slot,
 *       natural order. Markers come from ``low``; Huffman tables are optimised.
 *
 * Errors (a corrupt stream, a libjpeg warning, mismatched inputs) raise ValueError with libjpeg's
 * message: the Python side then keeps the bytes it had.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf *jump;
    char *message;
} error_mgr;

static void on_error(j_common_ptr cinfo) {
    error_mgr *err = (error_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(*err->jump, 1);
}

/* A warning means libjpeg repaired or skipped something: a "lossless" rewrite of such a stream
 * would not be lossless, so it is an error here. Trace messages (level > 0) are ignored. */
static void on_message(j_common_ptr cinfo, int level) {
    if (level < 0) on_error(cinfo);
}

typedef struct {
    struct jpeg_decompress_struct src[2];
    struct jpeg_compress_struct dst;
    error_mgr err[3];
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 80];
    int src_made[2], dst_made;
    unsigned char *out;
    unsigned long out_len;
} job;

static void job_free(job *j) {
    if (j->dst_made) jpeg_destroy_compress(&j->dst);
    for (int k = 0; k < 2; k++)
        if (j->src_made[k]) jpeg_destroy_decompress(&j->src[k]);
    j->dst_made = j->src_made[0] = j->src_made[1] = 0;
}

static struct jpeg_error_mgr *errors(job *j, int k) {
    struct jpeg_error_mgr *e = jpeg_std_error(&j->err[k].pub);
    e->error_exit = on_error;
    e->emit_message = on_message;
    j->err[k].jump = &j->jump;
    j->err[k].message = j->message;
    return e;
}

static void open_source(job *j, int k, const unsigned char *data, unsigned long len, int keep_markers) {
    j->src[k].err = errors(j, k);
    jpeg_create_decompress(&j->src[k]);
    j->src_made[k] = 1;
    jpeg_mem_src(&j->src[k], data, len);
    if (keep_markers) {
        jpeg_save_markers(&j->src[k], JPEG_COM, 0xFFFF);
        for (int m = 0; m < 16; m++) jpeg_save_markers(&j->src[k], JPEG_APP0 + m, 0xFFFF);
    }
    jpeg_read_header(&j->src[k], TRUE);
}

static int same_geometry(struct jpeg_decompress_struct *a, struct jpeg_decompress_struct *b, char *why) {
    if (a->image_width != b->image_width || a->image_height != b->image_height ||
        a->num_components != b->num_components || a->jpeg_color_space != b->jpeg_color_space ||
        a->data_precision != b->data_precision) {
        strcpy(why, "merge: the two JPEGs differ in size, components or colour space");
        return 0;
    }
    for (int c = 0; c < a->num_components; c++) {
        jpeg_component_info *p = &a->comp_info[c], *q = &b->comp_info[c];
        if (p->h_samp_factor != q->h_samp_factor || p->v_samp_factor != q->v_samp_factor ||
            p->quant_tbl_no != q->quant_tbl_no || p->width_in_blocks != q->width_in_blocks ||
            p->height_in_blocks != q->height_in_blocks) {
            strcpy(why, "merge: the two JPEGs differ in sampling or quantisation table assignment");
            return 0;
        }
    }
    return 1;
}

/* Runs without the GIL. Returns 0 on success (j->out, j->out_len set), -1 with j->message filled. */
static int run(job *j, const unsigned char *a, unsigned long alen, const unsigned char *b, unsigned long blen,
               const unsigned char *take, size_t take_len) {
    if (setjmp(j->jump)) {
        job_free(j);
        if (j->out) free(j->out);
        j->out = NULL;
        return -1;
    }
    open_source(j, 0, a, alen, 1);
    jvirt_barray_ptr *coef = jpeg_read_coefficients(&j->src[0]);
    jvirt_barray_ptr *coef_b = NULL;
    if (b) {
        open_source(j, 1, b, blen, 0);
        coef_b = jpeg_read_coefficients(&j->src[1]);
        if (!same_geometry(&j->src[0], &j->src[1], j->message)) {
            job_free(j);
            return -1;
        }
    }

    j->dst.err = errors(j, 2);
    jpeg_create_compress(&j->dst);
    j->dst_made = 1;
    jpeg_copy_critical_parameters(&j->src[0], &j->dst);
    /* The source's own JFIF / Adobe markers are copied verbatim below, not regenerated. */
    j->dst.write_JFIF_header = FALSE;
    j->dst.write_Adobe_marker = FALSE;
    j->dst.optimize_coding = TRUE;

    if (b) {
        for (int c = 0; c < j->src[0].num_components; c++) {
            jpeg_component_info *comp = &j->src[0].comp_info[c];
            int t = comp->quant_tbl_no;
            if ((size_t)(t + 1) * 64 > take_len) continue;
            const unsigned char *mask = take + 64 * t;
            JQUANT_TBL *dq = j->dst.quant_tbl_ptrs[t];
            JQUANT_TBL *hq = j->src[1].quant_tbl_ptrs[t];
            if (!dq || !hq) {
                strcpy(j->message, "merge: a component has no quantisation table");
                job_free(j);
                return -1;
            }
            for (int i = 0; i < 64; i++)
                if (mask[i]) dq->quantval[i] = hq->quantval[i];
            for (JDIMENSION row = 0; row < comp->height_in_blocks; row++) {
                JBLOCKARRAY lo = (*j->src[0].mem->access_virt_barray)((j_common_ptr)&j->src[0], coef[c], row, 1,
                                                                      TRUE);
                JBLOCKARRAY hi = (*j->src[1].mem->access_virt_barray)((j_common_ptr)&j->src[1], coef_b[c], row, 1,
                                                                      FALSE);
                for (JDIMENSION col = 0; col < comp->width_in_blocks; col++)
                    for (int i = 0; i < 64; i++)
                        if (mask[i]) lo[0][col][i] = hi[0][col][i];
            }
        }
    }

    jpeg_mem_dest(&j->dst, &j->out, &j->out_len);
    jpeg_write_coefficients(&j->dst, coef);
    for (jpeg_saved_marker_ptr m = j->src[0].marker_list; m; m = m->next)
        jpeg_write_marker(&j->dst, m->marker, m->data, m->data_length);
    jpeg_finish_compress(&j->dst);
    jpeg_finish_decompress(&j->src[0]);
    if (b) jpeg_finish_decompress(&j->src[1]);
    /* jpeg_mem_dest's buffer outlives the compressor: keep it, destroy the rest. */
    unsigned char *out = j->out;
    j->out = NULL;
    job_free(j);
    j->out = out;
    return 0;
}

static PyObject *call(Py_buffer *a, Py_buffer *b, Py_buffer *take) {
    job *j = calloc(1, sizeof(job));
    int rc;
    if (!j) return PyErr_NoMemory();
    Py_BEGIN_ALLOW_THREADS
    rc = run(j, a->buf, (unsigned long)a->len, b ? b->buf : NULL, b ? (unsigned long)b->len : 0,
             take ? take->buf : NULL, take ? (size_t)take->len : 0);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (rc == 0) {
        result = PyBytes_FromStringAndSize((const char *)j->out, (Py_ssize_t)j->out_len);
        free(j->out);
    } else {
        PyErr_SetString(PyExc_ValueError, j->message[0] ? j->message : "libjpeg failed");
    }
    free(j);
    return result;
}

static int check_size(Py_buffer *buf, const char *name) {
    if (buf->len < 4 || (unsigned long long)buf->len > 0xFFFFFFFFULL) {
        PyErr_Format(PyExc_ValueError, "%s: not a JPEG stream (%zd bytes)", name, buf->len);
        return 0;
    }
    return 1;
}

static PyObject *py_optimize(PyObject *self, PyObject *args) {
    Py_buffer a;
    if (!PyArg_ParseTuple(args, "y*:optimize", &a)) return NULL;
    PyObject *out = check_size(&a, "optimize") ? call(&a, NULL, NULL) : NULL;
    PyBuffer_Release(&a);
    return out;
}

static PyObject *py_merge(PyObject *self, PyObject *args) {
    Py_buffer a, b, take;
    if (!PyArg_ParseTuple(args, "y*y*y*:merge", &a, &b, &take)) return NULL;
    PyObject *out = NULL;
    if (take.len == 0 || take.len % 64 || take.len > 64 * NUM_QUANT_TBLS)
        PyErr_Format(PyExc_ValueError, "merge: take must be 64 bytes per table (1-%d tables), got %zd bytes",
                     NUM_QUANT_TBLS, take.len);
    else if (check_size(&a, "merge") && check_size(&b, "merge"))
        out = call(&a, &b, &take);
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    PyBuffer_Release(&take);
    return out;
}

static PyMethodDef methods[] = {
    {"optimize", py_optimize, METH_VARARGS, "optimize(data) -> bytes: Huffman tables optimised, losslessly."},
    {"merge", py_merge, METH_VARARGS,
     "merge(low, high, take) -> bytes: coefficients at the positions take marks from high, others from low."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_jpegcoef",
                                    "Lossless JPEG rewrites through libjpeg's transcoding API.", -1, methods};

PyMODINIT_FUNC PyInit__jpegcoef(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "LIBJPEG_VERSION", JPEG_LIB_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
