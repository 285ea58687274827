using System.Buffers;
using System.Text;
using InferenceServer.Core.Features.Sidecar;
using MessagePack;

namespace InferenceServer.UnitTests.Features.Sidecar;

/// <summary>
/// Every body of the feature sidecar's wire written and read back, and malformed bodies (truncated, wrong kind, wrong
/// element types, too few or too many elements, random bytes) refused with a protocol error, never another exception.
/// </summary>
public sealed class SidecarMessagesTests
{
    private static readonly string[] Fields = ["age", "workclass", "hours-per-week"];

    /// <summary>The body of the one frame <paramref name="write"/> writes.</summary>
    private static byte[] Body(Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        Assert.True(SidecarFrames.TryReadFrame(ref buffer, out var body));
        Assert.True(buffer.IsEmpty, "one message, one frame");
        return body.ToArray();
    }

    private delegate void WriteRaw(ref MessagePackWriter writer);

    /// <summary>A body written element by element with MessagePack's own writer, for bodies our writers never make.</summary>
    private static byte[] Raw(WriteRaw write)
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(output);
        write(ref writer);
        writer.Flush();
        return output.WrittenSpan.ToArray();
    }

    private static (uint Id, SidecarStatus Status, string Message, List<(long StoredAt, string?[] Values)> Rows) ReadResult(ReadOnlySequence<byte> body)
    {
        var reader = new SidecarLookupResultReader(body);
        var rows = new List<(long, string?[])>();
        while (reader.TryReadRow(out var storedAt, out var count))
        {
            var values = new string?[count];
            for (var i = 0; i < count; i++)
            {
                values[i] = reader.ReadValue(out var utf8) ? Encoding.UTF8.GetString(utf8) : null;
            }
            rows.Add((storedAt, values));
        }
        return (reader.Id, reader.Status, reader.Message, rows);
    }

    // Values with absent ones (null) compared as sequences: xUnit's array overloads refuse nullable elements.
    private static void AssertValues(IEnumerable<string?> expected, IEnumerable<string?> actual) => Assert.Equal(expected, actual);

    private static byte[] SampleResult() => Body(output =>
    {
        var writer = new SidecarLookupResultWriter(output, 77, 3);
        writer.BeginRow(1_764_000_000_123, 3);
        writer.WriteValue("39"u8);
        writer.WriteValue("State-gov"u8);
        writer.WriteMissing();
        writer.BeginRow(0, 0);
        writer.BeginRow(long.MaxValue, 3);
        writer.WriteValue(""u8);
        writer.WriteValue(Encoding.UTF8.GetBytes("Ünïcödé ✓ " + new string('x', 300)));
        writer.WriteValue("-1.5e-7"u8);
        writer.Complete();
    });

    [Fact]
    public void APingReadsBackWithItsIdAndItsHeader()
    {
        var body = new ReadOnlySequence<byte>(Body(o => SidecarMessages.WritePing(o, uint.MaxValue)));

        Assert.Equal(uint.MaxValue, SidecarMessages.ReadPing(body));
        Assert.Equal(SidecarMessageKind.Ping, SidecarMessages.ReadHeader(body, out var id));
        Assert.Equal(uint.MaxValue, id);
    }

    [Fact]
    public void ALookupReadsBackExactly()
    {
        string[] keys = ["income:1", "income:ünï ✓", ""];
        var body = new ReadOnlySequence<byte>(Body(o => SidecarMessages.WriteLookup(o, 42, 250, "income", Fields, keys)));

        var lookup = SidecarMessages.ReadLookup(body);

        Assert.Equal(42u, lookup.Id);
        Assert.Equal(250u, lookup.TimeoutMilliseconds);
        Assert.Equal("income", lookup.View);
        Assert.Equal(Fields, lookup.Fields);
        Assert.Equal(keys, lookup.Keys);
        Assert.Equal(SidecarMessageKind.Lookup, SidecarMessages.ReadHeader(body, out var id));
        Assert.Equal(42u, id);
    }

    [Fact]
    public void ALookupWithNoFieldsAndNoKeysReadsBackEmpty()
    {
        var body = new ReadOnlySequence<byte>(Body(o => SidecarMessages.WriteLookup(o, 0, 0, "", [], [])));

        var lookup = SidecarMessages.ReadLookup(body);

        Assert.Empty(lookup.Fields);
        Assert.Empty(lookup.Keys);
        Assert.Equal("", lookup.View);
    }

    [Fact]
    public void ALookupResultReadsBackRowByRowWithMissingValuesAndEntities()
    {
        var (id, status, message, rows) = ReadResult(new ReadOnlySequence<byte>(SampleResult()));

        Assert.Equal(77u, id);
        Assert.Equal(SidecarStatus.Ok, status);
        Assert.Equal("", message);
        Assert.Equal(3, rows.Count);
        Assert.Equal(1_764_000_000_123, rows[0].StoredAt);
        AssertValues(["39", "State-gov", null], rows[0].Values);
        Assert.Equal(0, rows[1].StoredAt);
        Assert.Empty(rows[1].Values);
        Assert.Equal(long.MaxValue, rows[2].StoredAt);
        AssertValues(["", "Ünïcödé ✓ " + new string('x', 300), "-1.5e-7"], rows[2].Values);
        Assert.Equal(SidecarMessageKind.LookupResult, SidecarMessages.ReadHeader(new ReadOnlySequence<byte>(SampleResult()), out var headerId));
        Assert.Equal(77u, headerId);
    }

    [Fact]
    public void ALookupResultCutAnywhereAcrossSegmentsReadsTheSame()
    {
        var bytes = SampleResult();
        var whole = ReadResult(new ReadOnlySequence<byte>(bytes));
        for (var cut = 1; cut < bytes.Length; cut++)
        {
            var split = ReadResult(SegmentedSequence.Of(bytes, cut));

            Assert.Equal(whole.Rows.Count, split.Rows.Count);
            for (var row = 0; row < whole.Rows.Count; row++)
            {
                Assert.Equal(whole.Rows[row].StoredAt, split.Rows[row].StoredAt);
                Assert.Equal(whole.Rows[row].Values, split.Rows[row].Values);
            }
        }
    }

    [Theory]
    [InlineData(SidecarStatus.DeadlineExceeded, "no answer from redis://127.0.0.1:6379 within 20 ms")]
    [InlineData(SidecarStatus.StoreUnavailable, "the store is unavailable")]
    [InlineData(SidecarStatus.BadRequest, "a lookup needs at least one field")]
    [InlineData(SidecarStatus.Overloaded, "1024 lookups in flight")]
    public void ALookupFailureReadsBackWithItsStatusAndMessageAndNoRows(SidecarStatus status, string message)
    {
        var result = ReadResult(new ReadOnlySequence<byte>(Body(o => SidecarMessages.WriteLookupFailure(o, 9, status, message))));

        Assert.Equal(9u, result.Id);
        Assert.Equal(status, result.Status);
        Assert.Equal(message, result.Message);
        Assert.Empty(result.Rows);
    }

    [Fact]
    public void AProtocolErrorReadsBackWithItsIdAndMessage()
    {
        var body = new ReadOnlySequence<byte>(Body(o => SidecarMessages.WriteProtocolError(o, 5, "a lookup has 4 elements; expected 6")));

        Assert.Equal("a lookup has 4 elements; expected 6", SidecarMessages.ReadProtocolError(body, out var id));
        Assert.Equal(5u, id);
    }

    [Fact]
    public void AResultWriterRefusesTooFewOrTooManyRowsAndValues()
    {
        var output = new ArrayBufferWriter<byte>();

        Assert.Throws<InvalidOperationException>(() => Misuse(output, static (ref SidecarLookupResultWriter w) => w.Complete()));
        Assert.Throws<InvalidOperationException>(() => Misuse(output, static (ref SidecarLookupResultWriter w) =>
        {
            w.BeginRow(1, 1);
            w.WriteValue("a"u8);
            w.WriteValue("b"u8);
        }));
        Assert.Throws<InvalidOperationException>(() => Misuse(output, static (ref SidecarLookupResultWriter w) =>
        {
            w.BeginRow(1, 0);
            w.BeginRow(1, 0);
        }));
        Assert.Equal(0, output.WrittenCount);
        // The abandoned results gave their encoding buffer back: the next result is written whole.
        var result = ReadResult(new ReadOnlySequence<byte>(Body(o => SidecarMessages.WriteLookupFailure(o, 4, SidecarStatus.Overloaded, "busy"))));
        Assert.Equal(4u, result.Id);
    }

    private delegate void UseWriter(ref SidecarLookupResultWriter writer);

    /// <summary>A result of one row, used wrongly by <paramref name="use"/>, then abandoned.</summary>
    private static void Misuse(ArrayBufferWriter<byte> output, UseWriter use)
    {
        // Not a using declaration: that makes the writer read-only, and every call would act on a copy of it.
        var writer = new SidecarLookupResultWriter(output, 1, 1);
        try
        {
            use(ref writer);
        }
        finally
        {
            writer.Dispose();
        }
    }

    public static TheoryData<string, byte[], string> MalformedLookups() => new()
    {
        { "empty body", [], "ends before" },
        { "not an array", Raw((ref MessagePackWriter w) => w.WriteMapHeader(0)), "is a map; expected an array" },
        { "too few elements", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(5); w.Write(1); w.Write(1); w.Write(10); w.Write("v"); w.WriteArrayHeader(0); }), "has 5 elements; expected 6" },
        { "too many elements", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(7); w.Write(1); w.Write(1); w.Write(10); w.Write("v"); w.WriteArrayHeader(0); w.WriteArrayHeader(0); w.WriteNil(); }), "has 7 elements; expected 6" },
        { "wrong kind", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(6); w.Write(2); w.Write(1); w.Write(10); w.Write("v"); w.WriteArrayHeader(0); w.WriteArrayHeader(0); }), "kind 2 was read as a lookup" },
        { "id a string", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(6); w.Write(1); w.Write("1"); w.Write(10); w.Write("v"); w.WriteArrayHeader(0); w.WriteArrayHeader(0); }), "element 1 (the id) of a lookup is a string; expected an unsigned 32-bit integer" },
        { "negative timeout", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(6); w.Write(1); w.Write(1); w.Write(-10); w.Write("v"); w.WriteArrayHeader(0); w.WriteArrayHeader(0); }), "element 2 (timeout_ms) of a lookup cannot be read as an unsigned 32-bit integer" },
        { "id over 32 bits", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(6); w.Write(1); w.Write(1L << 40); w.Write(10); w.Write("v"); w.WriteArrayHeader(0); w.WriteArrayHeader(0); }), "element 1 (the id) of a lookup cannot be read" },
        { "view nil", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(6); w.Write(1); w.Write(1); w.Write(10); w.WriteNil(); w.WriteArrayHeader(0); w.WriteArrayHeader(0); }), "element 3 (the view) of a lookup is nil; expected a string" },
        { "fields a map", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(6); w.Write(1); w.Write(1); w.Write(10); w.Write("v"); w.WriteMapHeader(0); w.WriteArrayHeader(0); }), "element 4 (the fields) of a lookup is a map; expected an array" },
        { "a field binary", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(6); w.Write(1); w.Write(1); w.Write(10); w.Write("v"); w.WriteArrayHeader(1); w.Write("age"u8); w.WriteArrayHeader(0); }), "a field in element 4 of a lookup is binary; expected a string" },
        { "a key an integer", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(6); w.Write(1); w.Write(1); w.Write(10); w.Write("v"); w.WriteArrayHeader(0); w.WriteArrayHeader(1); w.Write(7); }), "a key in element 5 of a lookup is an integer; expected a string" },
        { "keys missing", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(6); w.Write(1); w.Write(1); w.Write(10); w.Write("v"); w.WriteArrayHeader(0); }), "ends before element 5" },
        { "huge key count", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(6); w.Write(1); w.Write(1); w.Write(10); w.Write("v"); w.WriteArrayHeader(0); w.WriteArrayHeader(1_000_000_000); }), "announces 1000000000 elements but only 0 bytes follow" },
        { "trailing bytes", [.. Body(o => SidecarMessages.WriteLookup(o, 1, 10, "v", [], [])), 0xc0], "1 bytes after its last element" },
    };

    [Theory]
    [MemberData(nameof(MalformedLookups))]
    public void AMalformedLookupIsAProtocolErrorThatSaysWhatIsWrong(string name, byte[] body, string expected)
    {
        var error = Assert.Throws<SidecarProtocolException>(() => SidecarMessages.ReadLookup(new ReadOnlySequence<byte>(body)));

        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), $"{name}: '{error.Message}' does not say '{expected}'");
        Assert.DoesNotContain("Exception", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, byte[], string> MalformedResults() => new()
    {
        { "unknown status", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(5); w.Write(2); w.Write(1); w.Write(9); w.Write(""); w.WriteArrayHeader(0); }), "status 9" },
        { "a row of three", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(5); w.Write(2); w.Write(1); w.Write(0); w.Write(""); w.WriteArrayHeader(1); w.WriteArrayHeader(3); w.Write(1); w.WriteArrayHeader(0); w.WriteNil(); }), "has 3 elements; expected 2" },
        { "stored_at a float", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(5); w.Write(2); w.Write(1); w.Write(0); w.Write(""); w.WriteArrayHeader(1); w.WriteArrayHeader(2); w.Write(1.5); w.WriteArrayHeader(0); }), "is a float; expected a signed 64-bit integer" },
        { "a value a string", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(5); w.Write(2); w.Write(1); w.Write(0); w.Write(""); w.WriteArrayHeader(1); w.WriteArrayHeader(2); w.Write(1); w.WriteArrayHeader(1); w.Write("39"); }), "a value of a lookup result is a string; expected binary" },
        { "fewer rows than announced", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(5); w.Write(2); w.Write(1); w.Write(0); w.Write(""); w.WriteArrayHeader(2); w.WriteArrayHeader(2); w.Write(1); w.WriteArrayHeader(0); }), "ends before a row" },
        { "message nil", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(5); w.Write(2); w.Write(1); w.Write(0); w.WriteNil(); w.WriteArrayHeader(0); }), "element 3 (the message) of a lookup result is nil" },
    };

    [Theory]
    [MemberData(nameof(MalformedResults))]
    public void AMalformedLookupResultIsAProtocolErrorThatSaysWhatIsWrong(string name, byte[] body, string expected)
    {
        var error = Assert.Throws<SidecarProtocolException>(() => ReadResult(new ReadOnlySequence<byte>(body)));

        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), $"{name}: '{error.Message}' does not say '{expected}'");
    }

    [Fact]
    public void EveryTruncationOfEveryKindIsAProtocolError()
    {
        byte[][] bodies =
        [
            Body(o => SidecarMessages.WritePing(o, 300)),
            Body(o => SidecarMessages.WriteLookup(o, 70000, 250, "income", Fields, ["income:1", "income:2"])),
            SampleResult(),
            Body(o => SidecarMessages.WriteLookupFailure(o, 3, SidecarStatus.StoreUnavailable, "down")),
            Body(o => SidecarMessages.WriteProtocolError(o, 3, "bad")),
        ];
        foreach (var body in bodies)
        {
            for (var length = 0; length < body.Length; length++)
            {
                var cut = new ReadOnlySequence<byte>(body, 0, length);
                Assert.Equal(0, ReadAsEveryKind(cut, $"a body of {body.Length} bytes cut to {length}"));
            }
        }
    }

    [Fact]
    public void ABodyReadAsAnotherKindIsAProtocolError()
    {
        var ping = new ReadOnlySequence<byte>(Body(o => SidecarMessages.WritePing(o, 1)));
        var lookup = new ReadOnlySequence<byte>(Body(o => SidecarMessages.WriteLookup(o, 1, 1, "v", Fields, ["k"])));

        Assert.Throws<SidecarProtocolException>(() => SidecarMessages.ReadLookup(ping));
        Assert.Throws<SidecarProtocolException>(() => SidecarMessages.ReadPing(lookup));
        Assert.Throws<SidecarProtocolException>(() => ReadResult(lookup));
        Assert.Throws<SidecarProtocolException>(() => SidecarMessages.ReadProtocolError(lookup, out _));
    }

    [Theory]
    [InlineData(new byte[] { 0x92, 0x07, 0x01 }, "kind 7")]
    [InlineData(new byte[] { 0x91, 0x00 }, "expected at least a kind and an id")]
    [InlineData(new byte[] { 0x92, 0xa1, 0x61, 0x01 }, "element 0 (the kind) of a message is a string")]
    public void AHeaderWithAnUnknownKindOrNoIdIsAProtocolError(byte[] body, string expected)
    {
        var error = Assert.Throws<SidecarProtocolException>(() => SidecarMessages.ReadHeader(new ReadOnlySequence<byte>(body), out _));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomBytesAreReadOrRefusedButNeverThrowAnythingElse()
    {
        var random = new Random(14);
        var valid = Body(o => SidecarMessages.WriteLookup(o, 1, 1, "v", Fields, ["k1", "k2"]));
        for (var round = 0; round < 20_000; round++)
        {
            byte[] body;
            if (round % 2 == 0)
            {
                body = new byte[random.Next(0, 40)];
                random.NextBytes(body);
            }
            else
            {
                // A valid body with a few bytes flipped: deep enough to reach every element reader.
                body = (byte[])valid.Clone();
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    body[random.Next(body.Length)] = (byte)random.Next(256);
                }
            }
            ReadAsEveryKind(new ReadOnlySequence<byte>(body), $"round {round}: {Convert.ToHexString(body)}");
        }
    }

    /// <summary>
    /// Reads <paramref name="body"/> as every kind; each read either succeeds or throws a protocol error. Returns how
    /// many whole-message reads (all but the header's) succeeded.
    /// </summary>
    private static int ReadAsEveryKind(ReadOnlySequence<byte> body, string what)
    {
        Action[] reads =
        [
            () => SidecarMessages.ReadHeader(body, out _),
            () => SidecarMessages.ReadPing(body),
            () => SidecarMessages.ReadLookup(body),
            () => ReadResult(body),
            () => SidecarMessages.ReadProtocolError(body, out _),
        ];
        var wholeReads = 0;
        for (var i = 0; i < reads.Length; i++)
        {
            try
            {
                reads[i]();
                wholeReads += i == 0 ? 0 : 1;
            }
            catch (SidecarProtocolException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"{what}: {e.GetType().Name} instead of a protocol error: {e.Message}");
            }
        }
        return wholeReads;
    }
}
