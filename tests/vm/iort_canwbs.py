#!/usr/bin/python3
"""Mark every PCI root complex of an ACPI IORT as CANWBS.

    tests/vm/iort_canwbs.py IN OUT

arm-smmu-v3 creates a vIOMMU (IOMMU_VIOMMU_ALLOC) only if the SMMU has S2FWB
or the root complex may only issue cacheable, write-back, shareable accesses
(IORT memory access flag CANWBS). QEMU's virt machine offers neither, so the
arm64 test VM boots with QEMU's own IORT, changed by this script, through the
kernel's ACPI table upgrade (tests/vm/smmu-iort.sh). The table upgrade takes a
table only if its OEM revision is higher than the firmware's: it is bumped.
"""
import struct
import sys

HEADER_LEN = 36          # the ACPI table header
IORT_FIXED_LEN = 48      # header, node count, node offset, reserved
NODE_HEADER_LEN = 16     # type, length, revision, id, mapping count/offset
NODE_PCI_ROOT_COMPLEX = 2
MEMORY_ACCESS_FLAGS = 23  # in a root complex node
CANWBS = 1 << 2
OEM_REVISION = 24
CHECKSUM = 9


class IortError(ValueError):
    pass


def checksum(table):
    """The byte that makes the table's bytes sum to 0 (mod 256)."""
    rest = sum(table) - table[CHECKSUM]
    return -rest & 0xFF


def root_complex_nodes(table):
    """Offsets of the PCI root complex nodes; IortError if the table is not
    a well-formed IORT."""
    if len(table) < IORT_FIXED_LEN or table[:4] != b"IORT":
        raise IortError("not an IORT table")
    (length,) = struct.unpack_from("<I", table, 4)
    if length != len(table):
        raise IortError(f"header says {length} bytes, the table has {len(table)}")
    if sum(table) & 0xFF:
        raise IortError("bad checksum")
    count, offset = struct.unpack_from("<II", table, HEADER_LEN)
    nodes = []
    for _ in range(count):
        if offset + NODE_HEADER_LEN > length:
            raise IortError(f"node at {offset} runs past the table")
        node_type, node_len = struct.unpack_from("<BH", table, offset)
        if node_len < NODE_HEADER_LEN or offset + node_len > length:
            raise IortError(f"node at {offset} has a bad length {node_len}")
        if node_type == NODE_PCI_ROOT_COMPLEX:
            if node_len <= MEMORY_ACCESS_FLAGS:
                raise IortError(f"root complex node at {offset} is too short")
            nodes.append(offset)
        offset += node_len
    return nodes


def set_canwbs(table):
    """The table with CANWBS set in every root complex node, its OEM revision
    one higher and its checksum fixed."""
    out = bytearray(table)
    nodes = root_complex_nodes(out)
    if not nodes:
        raise IortError("no PCI root complex node")
    for node in nodes:
        out[node + MEMORY_ACCESS_FLAGS] |= CANWBS
    (revision,) = struct.unpack_from("<I", out, OEM_REVISION)
    struct.pack_into("<I", out, OEM_REVISION, (revision + 1) & 0xFFFFFFFF)
    out[CHECKSUM] = checksum(out)
    return bytes(out)


def main(argv):
    if len(argv) != 3:
        print("usage: iort_canwbs.py IN OUT", file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        table = f.read()
    try:
        patched = set_canwbs(table)
    except IortError as e:
        print(f"iort_canwbs: {argv[1]}: {e}", file=sys.stderr)
        return 1
    with open(argv[2], "wb") as f:
        f.write(patched)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
