# Types every engine module shares: the codes of each kind (the registries in
# fastmlp/_registry.py map public names to them), the network as the kernels
# read it, a row part's work layout and the rows it reads.
#
# Glossary, one word per idea throughout the engine:
#   minibatch  the rows of one optimizer step (stochastic solvers)
#   chunk      the rows of one pass of lbfgs's full-batch loss or of a
#              prediction, bounded so work buffers stay small
#   row part   a slice of a minibatch's or chunk's rows that one thread runs
#              forward and backward into its own gradient buffer
#   slice      a range of the flat parameter buffer that one thread sums the
#              parts' gradients over and steps
#   layer l    weight layer l maps A_l (A_0 = X) to Z_{l+1} = A_l @ W_l + b_l
#              and A_{l+1} = f(Z_{l+1}); the output layer's f is the loss's.
#              With batch norm, A_{l+1} = f(gamma * norm(Z_{l+1}) + beta); with
#              dropout, A_{l+1} is then masked and scaled (training only)
#   stage      a piece of a row part's pass between two statistics that
#              cross the whole minibatch (batch norm's mean and variance
#              forward, its sums of the deltas backward): stage k of every
#              part runs in one round, its close combines the parts' sums
from cython cimport floating
from libc.math cimport isfinite

cpdef enum Activation:
    IDENTITY = 0
    LOGISTIC = 1
    TANH = 2
    RELU = 3
    LEAKY_RELU = 4
    ELU = 5
    SELU = 6
    GELU = 7
    GELU_TANH = 8
    SILU = 9
    SOFTPLUS = 10


cpdef enum Loss:
    # each fused with the output activation it implies (see _losses.pyx)
    SQUARED_ERROR = 0    # identity output, half squared error
    POISSON = 1          # exp output, half Poisson deviance
    BINARY_LOG_LOSS = 2  # logistic output per column (binary, multilabel)
    LOG_LOSS = 3         # softmax output (multiclass)
    # identity output; the mean over outputs, its delta scaled to match
    ABSOLUTE_ERROR = 4   # |y - f|
    HUBER = 5            # the notes' Huber loss, delta = loss_param
    QUANTILE = 6         # pinball loss, quantile = loss_param
    BINARY_HINGE = 7     # max(0, 1 - s f) per column, s = 2y - 1 (0/1 targets)
    BINARY_SQUARED_HINGE = 8
    MULTICLASS_HINGE = 9  # sum_{k != t} max(0, f_k - f_t + 1), class indices t
    MULTICLASS_SQUARED_HINGE = 10


cpdef enum OutActivation:
    OUT_IDENTITY = 0
    OUT_EXP = 1
    OUT_LOGISTIC = 2
    OUT_SOFTMAX = 3


cdef struct Layer:
    Py_ssize_t n_in          # fan-in: units of the layer below (A_l's width)
    Py_ssize_t n_out         # fan-out: units of this layer (Z_{l+1}'s width)
    Py_ssize_t coef          # W_l at params[coef:], (n_in, n_out) row-major
    Py_ssize_t intercept     # b_l at params[intercept:], (n_out,)
    int activation           # an Activation (hidden layers only)
    double act_params[2]     # the activation's parameters, registry order
    # columns of the work blocks (times a row part's max_rows: offsets)
    Py_ssize_t act_col       # A_{l+1} in the activation block
    Py_ssize_t pre_col       # f'(Z_{l+1}) in the pre-activation block, -1: not
                             # kept (the derivative is written from A_{l+1})
    Py_ssize_t delta_col     # dLoss/dZ_{l+1} in the delta block
    # batch norm (hidden layers only; bn -1: none)
    Py_ssize_t bn            # its index among the batch-normalised layers
    Py_ssize_t gamma         # gamma at params[gamma:], beta at params[beta:]
    Py_ssize_t beta
    Py_ssize_t stat          # its units' first index in the statistics
    Py_ssize_t norm_col      # the normalised Z_{l+1} in the norm block
    # dropout (hidden layers only)
    double dropout           # the rate, 0: none
    Py_ssize_t mask_col      # keep scale times f', in the mask block


cdef struct Net:
    Py_ssize_t n_layers      # weight layers
    Layer* layers
    Py_ssize_t n_features
    Py_ssize_t n_outputs
    Py_ssize_t n_params
    Py_ssize_t n_coefs       # coefficients come first: the L2 penalty's range
    int loss                 # a Loss
    int out_activation       # an OutActivation, for predictions
    double loss_param        # huber's delta, the quantile; else 0
    Py_ssize_t n_bn          # batch-normalised layers: 2 n_bn + 1 stages
    Py_ssize_t n_stats       # their units in all
    double bn_momentum
    double bn_eps
    bint dropout             # some layer has dropout


cdef struct PartLayout:
    # Offsets into a row part's work buffer, sized for up to max_rows rows;
    # each block holds max_rows rows of its columns.
    Py_ssize_t max_rows
    Py_ssize_t x             # gathered dense input rows (training, when gathering)
    Py_ssize_t y             # gathered targets
    Py_ssize_t sw            # gathered sample weights
    Py_ssize_t ones          # max_rows ones: column sums as a BLAS gemv
    Py_ssize_t act           # the activation block
    Py_ssize_t pre           # the pre-activation block (f'(Z) of the layers
                             # that keep it); -1: none (predictions)
    Py_ssize_t delta         # the delta block
    Py_ssize_t norm          # the norm block (batch norm)
    Py_ssize_t mask          # the mask block (dropout)
    Py_ssize_t size


cdef struct Batch:
    # What the row parts of one minibatch (or lbfgs's one chunk) share
    # beyond their own rows: the minibatch's batch-norm statistics (written
    # by the thread closing a stage's round, read by the next stage's
    # parts) and dropout's keys.
    Py_ssize_t n_rows        # the minibatch's rows
    double* mean             # n_stats: each normalised unit's batch mean,
    double* var              # its (biased) batch variance,
    double* invstd           # 1 / sqrt(var + eps),
    double* sum_g            # sum over rows of dLoss/dY (Y = gamma x^ + beta),
    double* sum_gx           # and of dLoss/dY x^
    bint train_dropout       # apply dropout (its masks from the keys below)
    unsigned key0, key1      # dropout's key (from random_state)
    unsigned long long step  # the optimizer's step: masks differ per step


cdef struct Input:
    # The rows a row part reads: dense rows at x (contiguous), or rows of a
    # CSR matrix (rows[r], or row_start + r when rows is NULL).
    void* x
    void* data
    const Py_ssize_t* indices
    const Py_ssize_t* indptr
    const Py_ssize_t* rows
    Py_ssize_t row_start


cdef inline bint all_finite(const floating* x, Py_ssize_t n) noexcept nogil:
    """Whether n values are all finite (no branch: the loop vectorises)"""
    cdef Py_ssize_t i
    cdef bint finite = True
    for i in range(n):
        finite &= isfinite(x[i])
    return finite
