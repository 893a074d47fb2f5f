"""Error correction for the blind-watermark payload: CRC-16 detection, convolutional coding.

The payload is protected twice: a keyed CRC-16 tells a real mark from noise (error detection), and a
rate-1/3, constraint-length-7 convolutional code decoded with soft-decision Viterbi corrects the
bit errors that compression and resampling leave (about 5 dB of coding gain over plain repetition).
"""

from __future__ import annotations

import binascii

import numpy as np

#: Generator polynomials (octal 133, 171, 165): the classic K=7 rate-1/3 code.
GENERATORS = (0o133, 0o171, 0o165)
K = 7
N_STATES = 1 << (K - 1)


def _parity(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    out = np.zeros_like(x)
    while np.any(x):
        out ^= x & 1
        x >>= 1
    return out


# For each (state, input bit) the 3 output bits; states are the last K-1 input bits (newest high).
_REG = (np.arange(2)[None, :] << (K - 1)) | np.arange(N_STATES)[:, None]  # (state, bit)
_OUT = np.stack([_parity(_REG & g) for g in GENERATORS], axis=-1)  # (state, bit, 3)
_NEXT = _REG >> 1


def crc16(bits: np.ndarray, *, init: int = 0x1D0F) -> np.ndarray:
    """CRC-16/CCITT of a bit array (whole bytes), as 16 bits.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.ecc import crc16
    >>> crc16(np.zeros(8, dtype=np.uint8)).shape
    (16,)
    """
    data = np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()
    value = binascii.crc_hqx(data, init & 0xFFFF)
    return np.unpackbits(np.array([value >> 8, value & 0xFF], dtype=np.uint8))


def conv_encode(bits: np.ndarray) -> np.ndarray:
    """Encode bits (zero-terminated with K-1 tail bits); returns 3 * (len + 6) bits.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.ecc import conv_encode
    >>> conv_encode(np.array([1, 0, 1], dtype=np.uint8)).size
    27
    """
    bits = np.concatenate([np.asarray(bits, dtype=np.int64), np.zeros(K - 1, dtype=np.int64)])
    out = np.empty((bits.size, len(GENERATORS)), dtype=np.uint8)
    state = 0
    for i, b in enumerate(bits):
        out[i] = _OUT[state, b]
        state = _NEXT[state, b]
    return out.ravel()


# Predecessors of each next state: ns = (b << 5) | (s >> 1), so s = ((ns << 1) & 63) | x, b = ns >> 5.
_NS = np.arange(N_STATES)
_PRED = np.stack([((_NS << 1) & (N_STATES - 1)) | x for x in (0, 1)], axis=1)  # (ns, 2)
_PRED_BIT = _NS >> (K - 2)
_SIGNS = 1.0 - 2.0 * _OUT[_PRED, _PRED_BIT[:, None]]  # (ns, 2, 3): +1 for bit 0, -1 for bit 1


def viterbi_decode(soft: np.ndarray, n_bits: int) -> np.ndarray:
    """Soft-decision Viterbi decoding.

    Parameters
    ----------
    soft : ndarray
        ``3 * (n_bits + 6)`` soft values, positive for a 0 bit and negative for a 1 bit.
    n_bits : int
        Number of information bits.

    Returns
    -------
    ndarray of uint8
        The most likely information bits.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.ecc import conv_encode, viterbi_decode
    >>> bits = np.array([1, 1, 0, 1, 0, 0, 1, 0], dtype=np.uint8)
    >>> soft = 1.0 - 2.0 * conv_encode(bits)
    >>> soft[::5] *= -0.5  # some wrong, weak symbols
    >>> viterbi_decode(soft, 8).tolist() == bits.tolist()
    True
    """
    steps = n_bits + K - 1
    y = np.asarray(soft, dtype=np.float64).reshape(steps, len(GENERATORS))
    metric = np.full(N_STATES, -np.inf)
    metric[0] = 0.0
    choices = np.empty((steps, N_STATES), dtype=np.uint8)
    for t in range(steps):
        branch = _SIGNS @ y[t]  # (ns, 2)
        cand = metric[_PRED] + branch
        pick = np.argmax(cand, axis=1)
        choices[t] = pick
        metric = cand[_NS, pick]
    state = 0  # zero-terminated
    bits = np.empty(steps, dtype=np.uint8)
    for t in range(steps - 1, -1, -1):
        bits[t] = state >> (K - 2)
        state = _PRED[state, choices[t, state]]
    return bits[:n_bits]


def list_viterbi_decode(soft: np.ndarray, n_bits: int, size: int = 8) -> list[np.ndarray]:
    """Parallel list Viterbi decoding: the ``size`` most likely information-bit sequences, best first.

    Each state keeps its ``size`` best paths instead of one. With an error-detecting code on the
    payload (the keyed CRC), the first sequence of the list that passes the check is taken: about
    half a decibel to a decibel better than plain Viterbi on short blocks, at the cost of ``size``
    CRC checks (false acceptance ``size * 2**-16`` per failed reading).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.ecc import conv_encode, list_viterbi_decode, viterbi_decode
    >>> bits = np.array([1, 0, 0, 1, 1, 0, 1, 0], dtype=np.uint8)
    >>> soft = 1.0 - 2.0 * conv_encode(bits)
    >>> paths = list_viterbi_decode(soft, 8, size=4)
    >>> len(paths), paths[0].tolist() == viterbi_decode(soft, 8).tolist() == bits.tolist()
    (4, True)
    """
    steps = n_bits + K - 1
    y = np.asarray(soft, dtype=np.float64).reshape(steps, len(GENERATORS))
    metric = np.full((N_STATES, size), -np.inf)
    metric[0, 0] = 0.0
    # back[t, ns, r] = index into the 2 * size candidates (predecessor choice x, rank) of path r
    back = np.empty((steps, N_STATES, size), dtype=np.int16)
    for t in range(steps):
        branch = _SIGNS @ y[t]  # (ns, 2)
        cand = (metric[_PRED] + branch[:, :, None]).reshape(N_STATES, 2 * size)  # (ns, x * size + r)
        order = np.argsort(-cand, axis=1, kind="stable")[:, :size]
        back[t] = order
        metric = np.take_along_axis(cand, order, axis=1)
    out = []
    for r in range(size):
        if not np.isfinite(metric[0, r]):
            break
        state, rank = 0, r
        bits = np.empty(steps, dtype=np.uint8)
        for t in range(steps - 1, -1, -1):
            c = int(back[t, state, rank])
            x, rank = divmod(c, size)
            bits[t] = state >> (K - 2)
            state = int(_PRED[state, x])
        out.append(bits[:n_bits])
    return out
