"""The shared CSV header reader."""
import pytest

from lib.core.csvfile import reader_with_header


def test_header_is_stripped_and_the_reader_continues_after_it():
    reader, header = reader_with_header(" a ;b\n1;2\n", "f.csv", sep=";")
    assert header == ["a", "b"]
    assert next(reader) == ["1", "2"] and reader.line_num == 2


def test_an_empty_file_is_named_in_the_error():
    with pytest.raises(ValueError, match="f.csv is empty"):
        reader_with_header("", "f.csv")
