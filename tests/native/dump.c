/* Decode each file given into every output kind and write the rows, the status first, to
 * stdout: tests/native/test_portable.py compares this output across architectures. */
#include <stdio.h>
#include <stdlib.h>

#include "tiffdec.h"

int main(int argc, char **argv) {
    static const float mean[3] = {0.70f, 0.54f, 0.69f}, std[3] = {0.23f, 0.27f, 0.21f};
    static const hcd_out_kind kinds[3] = {HCD_OUT_U8_HWC, HCD_OUT_F32_CHW, HCD_OUT_F16_CHW};
    hcd_lut lut;
    hcd_lut_init(&lut, mean, std);
    /* "best": the kernel this CPU would pick; default: the portable scalar kernels. */
    int first = 1;
    if (argc > 1 && argv[1][0] == '-' && argv[1][1] == 'b')
        first = 2;
    else
        lut.kernel = HCD_KERNEL_SCALAR;
    hcd_ctx *ctx = hcd_ctx_new();
    void *row = malloc(hcd_row_bytes(HCD_OUT_F32_CHW));
    if (ctx == NULL || row == NULL)
        return 2;
    for (int i = first; i < argc; i++) {
        for (int k = 0; k < 3; k++) {
            int32_t status = hcd_decode_file(ctx, argv[i], row, kinds[k], &lut);
            fwrite(&status, sizeof status, 1, stdout);
            fwrite(row, hcd_row_bytes(kinds[k]), 1, stdout);
        }
    }
    hcd_ctx_free(ctx);
    free(row);
    return 0;
}
