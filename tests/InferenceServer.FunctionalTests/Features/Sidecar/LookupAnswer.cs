using System.Buffers;
using System.Text;
using InferenceServer.Core.Features.Sidecar;

namespace InferenceServer.FunctionalTests.Features.Sidecar;

/// <summary>A lookup result read whole: values as text, null where absent.</summary>
internal sealed record LookupAnswer(uint Id, SidecarStatus Status, string Message, IReadOnlyList<(long StoredAt, string?[] Values)> Rows)
{
    public static LookupAnswer Read(byte[] body)
    {
        var reader = new SidecarLookupResultReader(new ReadOnlySequence<byte>(body));
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
        return new LookupAnswer(reader.Id, reader.Status, reader.Message, rows);
    }
}
