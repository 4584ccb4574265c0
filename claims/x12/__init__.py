"""X12 5010 837P/837I claims and 835 remittances: read (with clearinghouse tolerance) and write."""

from claims.x12.reader import X12Document, read_x12
from claims.x12.writer import write_835, write_837

__all__ = ["X12Document", "read_x12", "write_835", "write_837"]
