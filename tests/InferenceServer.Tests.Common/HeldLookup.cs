using System.Buffers;
using System.Text;
using InferenceServer.Core.Features.Sidecar;

namespace InferenceServer.Tests.Common;

/// <summary>A lookup the fake sidecar holds until the test answers it.</summary>
internal sealed class HeldLookup(SidecarLookup lookup, Stream stream, SemaphoreSlim writeLock)
{
    public SidecarLookup Lookup { get; } = lookup;

    /// <summary>Writes <paramref name="reply"/> to the lookup's connection.</summary>
    public async Task AnswerAsync(FakeReply reply)
    {
        var output = new ArrayBufferWriter<byte>();
        if (reply.Status != SidecarStatus.Ok)
        {
            SidecarMessages.WriteLookupFailure(output, Lookup.Id, reply.Status, reply.Message);
        }
        else
        {
            Write(output, reply);
        }
        await writeLock.WaitAsync();
        try
        {
            await stream.WriteAsync(output.WrittenMemory);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The connection went away meanwhile.
        }
        finally
        {
            writeLock.Release();
        }
    }

    private void Write(ArrayBufferWriter<byte> output, FakeReply reply)
    {
        var writer = new SidecarLookupResultWriter(output, Lookup.Id, reply.Rows.Length);
        try
        {
            foreach (var (storedAt, values) in reply.Rows)
            {
                writer.BeginRow(storedAt, values.Length);
                foreach (var value in values)
                {
                    if (value is null)
                    {
                        writer.WriteMissing();
                    }
                    else
                    {
                        writer.WriteValue(Encoding.UTF8.GetBytes(value));
                    }
                }
            }
            writer.Complete();
        }
        finally
        {
            writer.Dispose();
        }
    }
}
