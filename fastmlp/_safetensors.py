"""The safetensors container, written and read by our own code.

A file is an 8-byte little-endian header length N, N bytes of a JSON
header, then one data section holding every array's bytes back to back::

    {"__metadata__": {"key": "text", ...},
     "name": {"dtype": "F64", "shape": [2, 3], "data_offsets": [0, 48]}, ...}

(offsets relative to the data section, little-endian C-order data), the
layout of Hugging Face's safetensors, so the arrays of a model file can be
read by any safetensors reader. It holds typed arrays and text only:
nothing in it names code to import or call, which is why it was chosen
over pickle, and over ``.npz`` (a zip archive, whose compression and
directory this module would have to bound too).

Reading trusts nothing: the header's length is bounded and must fit the
file, the JSON must be strict (no duplicate keys, no NaN), every array's
dtype must be one of the table below and its shape must give exactly its
byte range, and the ranges must tile the data section, with no gap, no
overlap and no byte left over, which also makes a truncated file an error.
"""
import json
import math

import numpy as np

__all__ = ["ContainerError", "read_container", "write_container"]

# the safetensors dtype names of the arrays we write or accept
DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U64": np.dtype("<u8"), "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_NAMES = {(dtype.kind, dtype.itemsize): name for name, dtype in DTYPES.items()}

MAX_HEADER_BYTES = 1 << 24
MAX_ARRAYS = 4096
MAX_DIMS = 8


class ContainerError(ValueError):
    """The bytes are not a well-formed safetensors container."""


def write_container(arrays, metadata):
    """The container's bytes.

    Parameters
    ----------
    arrays : dict of str to ndarray
        Numeric or boolean arrays, stored in this order.
    metadata : dict of str to str

    Returns
    -------
    bytes
    """
    header = {"__metadata__": dict(metadata)}
    chunks, offset = [], 0
    for name, array in arrays.items():
        array = np.asarray(array)
        dtype_name = _NAMES.get((array.dtype.kind, array.dtype.itemsize))
        if dtype_name is None:
            raise TypeError(f"array {name!r} of dtype {array.dtype} cannot be stored")
        data = np.ascontiguousarray(array, dtype=DTYPES[dtype_name]).tobytes()
        header[name] = {"dtype": dtype_name, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    # padded with spaces to 8 bytes, as safetensors' own writer does
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + b"".join(chunks)


def read_container(buffer):
    """The metadata and arrays of a container, every size checked first.

    Parameters
    ----------
    buffer : bytes-like

    Returns
    -------
    metadata : dict of str to str
    arrays : dict of str to ndarray
        Native-endian, writable copies.

    Raises
    ------
    ContainerError
        Naming what is wrong.
    """
    buffer = memoryview(buffer).cast("B")
    size = buffer.nbytes
    if size < 8:
        raise ContainerError(f"the file has {size} bytes, fewer than the 8 of its header "
                             "length: it is empty or truncated")
    n_header = int.from_bytes(buffer[:8], "little")
    if n_header > MAX_HEADER_BYTES:
        raise ContainerError(f"its header claims {n_header} bytes, more than the "
                             f"{MAX_HEADER_BYTES} a model file's header may have")
    if 8 + n_header > size:
        raise ContainerError(f"its header claims {n_header} bytes but the file has only "
                             f"{size - 8} after the length: it is truncated")
    header = _parse_header(bytes(buffer[8:8 + n_header]))
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values()):
        raise ContainerError("its __metadata__ is not a mapping of text to text")
    if len(header) > MAX_ARRAYS:
        raise ContainerError(f"it lists {len(header)} arrays, more than {MAX_ARRAYS}")
    data_size = size - 8 - n_header
    entries = {name: _entry(name, value) for name, value in header.items()}
    _check_tiling(entries, data_size)
    data = buffer[8 + n_header:]
    arrays = {}
    for name, (dtype, shape, start, stop) in entries.items():
        flat = np.frombuffer(data[start:stop], dtype=dtype)
        arrays[name] = flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)
    return metadata, arrays


def _parse_header(raw):
    def no_duplicates(pairs):
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ContainerError("its header repeats a key")
        return dict(pairs)

    def no_constant(name):
        raise ContainerError(f"its header holds {name}, which JSON does not allow")

    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates,
                            parse_constant=no_constant)
    except UnicodeDecodeError as exc:
        raise ContainerError(f"its header is not UTF-8 text ({exc.reason})") from None
    except RecursionError:
        raise ContainerError("its header nests too deeply") from None
    except json.JSONDecodeError as exc:
        raise ContainerError(f"its header is not valid JSON ({exc.msg} at byte "
                             f"{exc.pos})") from None
    if not isinstance(header, dict):
        raise ContainerError("its header is not a JSON object")
    return header


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _entry(name, value):
    """(dtype, shape, start, stop) of one array's header entry, checked."""
    if not isinstance(value, dict) or set(value) != {"dtype", "shape", "data_offsets"}:
        raise ContainerError(f"the entry of array {name!r} is not dtype, shape and "
                             "data_offsets")
    dtype = DTYPES.get(value["dtype"]) if isinstance(value["dtype"], str) else None
    if dtype is None:
        raise ContainerError(f"array {name!r} has dtype {value['dtype']!r}, not one of "
                             f"{', '.join(DTYPES)}")
    shape, offsets = value["shape"], value["data_offsets"]
    if not (isinstance(shape, list) and len(shape) <= MAX_DIMS
            and all(_is_int(n) and n >= 0 for n in shape)):
        raise ContainerError(f"array {name!r} has shape {shape!r}, not a list of at most "
                             f"{MAX_DIMS} non-negative integers")
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(_is_int(n) and n >= 0 for n in offsets) and offsets[0] <= offsets[1]):
        raise ContainerError(f"array {name!r} has data_offsets {offsets!r}, not two "
                             "increasing byte offsets")
    start, stop = offsets
    # Python integers: a huge shape cannot overflow
    if math.prod(shape) * dtype.itemsize != stop - start:
        raise ContainerError(f"array {name!r} of shape {shape} and dtype {value['dtype']} "
                             f"needs {math.prod(shape) * dtype.itemsize} bytes but its "
                             f"data_offsets give {stop - start}")
    return dtype, tuple(shape), start, stop


def _check_tiling(entries, data_size):
    """The arrays' byte ranges cover the data section exactly."""
    end = 0
    for name, (_, _, start, stop) in sorted(entries.items(), key=lambda item: item[1][2:]):
        if start != end:
            raise ContainerError(f"array {name!r} starts at byte {start} of the data, "
                                 f"where {end} was expected (arrays overlap or leave a gap)")
        end = stop
    if end != data_size:
        what = "truncated" if end > data_size else "followed by unlisted bytes"
        raise ContainerError(f"its arrays need {end} bytes of data but the file holds "
                             f"{data_size}: it is {what}")
