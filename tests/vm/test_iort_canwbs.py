#!/usr/bin/python3
"""Tests of iort_canwbs.py on a made-up IORT: an ITS group, two root
complexes and an SMMUv3 node.  python3 tests/vm/test_iort_canwbs.py"""
import os
import struct
import sys
import unittest

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iort_canwbs as iort  # noqa: E402


def node(node_type, body):
    return struct.pack("<BHBIII", node_type, 16 + len(body), 0, 0, 0, 0) + body


def root_complex(flags):
    # cache coherency, allocation hints, reserved, memory access flags, ATS...
    return node(2, struct.pack("<IBHB", 1, 0, 0, flags) + bytes(20))


def table(nodes, oem_revision=1):
    body = b"".join(nodes)
    length = 48 + len(body)
    header = struct.pack("<4sIBB6s8sI4sI", b"IORT", length, 5, 0, b"BOCHS ",
                         b"BXPC    ", oem_revision, b"BXPC", 1)
    return with_checksum(header + struct.pack("<III", len(nodes), 48, 0) + body)


def with_checksum(t):
    t = bytearray(t)
    t[9] = iort.checksum(t)
    return bytes(t)


NODES = [node(0, bytes(8)), root_complex(0x3), node(4, bytes(40)), root_complex(0x1)]


class SetCanwbs(unittest.TestCase):
    def test_sets_bit_2_of_each_root_complex_only(self):
        before = table(NODES)
        after = iort.set_canwbs(before)
        self.assertEqual(len(after), len(before))
        self.assertEqual(iort.root_complex_nodes(after), [72, 172])
        self.assertEqual(after[72 + 23], 0x7)
        self.assertEqual(after[172 + 23], 0x5)
        changed = [i for i in range(len(before)) if before[i] != after[i]]
        self.assertEqual(changed, [9, 24, 72 + 23, 172 + 23])

    def test_bumps_oem_revision_and_fixes_checksum(self):
        after = iort.set_canwbs(table(NODES, oem_revision=0xFFFFFFFF))
        self.assertEqual(struct.unpack_from("<I", after, 24)[0], 0)
        self.assertEqual(sum(after) & 0xFF, 0)

    def test_refuses_bad_tables(self):
        good = table(NODES)
        bad = {
            "not an IORT": b"DSDT" + good[4:],
            "header says": good[:-1],
            "bad checksum": good[:72 + 23] + b"\x07" + good[72 + 24:],
            "no PCI root complex": table([node(0, bytes(8))]),
            "runs past": with_checksum(good[:40] + struct.pack("<I", len(good) - 4) + good[44:]),
        }
        for reason, t in bad.items():
            with self.subTest(reason), self.assertRaisesRegex(iort.IortError, reason):
                iort.set_canwbs(t)


if __name__ == "__main__":
    unittest.main()
