using Google.Protobuf;
using Grpc.Core;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// A <c>ModelStreamInfer</c> client that sends without reading its answers: the server stops taking requests once it
/// cannot write answers and holds a bounded number in flight, so the client's writes stall; once the client reads,
/// every request is answered.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class GrpcStreamBackpressureTests
{
    private const int InFlight = 8;
    private const int Requests = 3000;

    [Fact]
    public async Task AClientThatDoesNotReadIsHeldBackAndEveryRequestIsAnsweredOnceItReads()
    {
        using var repository = new TestRepository().AddSample("simple");
        await using var server = await RunningServer.StartAsync(repository.Path, ("Grpc:MaxStreamRequestsInFlight", InFlight.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        using var call = client.ModelStreamInfer();

        var written = 0;
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < Requests; i++)
            {
                await call.RequestStream.WriteAsync(Request(i));
                Interlocked.Increment(ref written);
            }
            await call.RequestStream.CompleteAsync();
        });

        // Wait for the writes to stall: no progress for two seconds.
        var last = -1;
        while (Volatile.Read(ref written) != last)
        {
            last = Volatile.Read(ref written);
            await Task.WhenAny(writer, Task.Delay(TimeSpan.FromSeconds(2)));
            Assert.False(writer.IsCompleted, $"all {Requests} requests were written while no answer was read: the server took them all");
        }
        var accepted = await SucceededAsync(client);
        // What the server ran: the requests in flight plus the answers that fit the client's receive window; far fewer
        // than the client wrote (the rest wait in flow-control windows, unread).
        Assert.True(accepted < last, $"the server ran {accepted} of the {last} requests written");
        Assert.True(accepted < 1000, $"the server ran {accepted} requests for a client that read no answer");

        var ids = new HashSet<string>();
        await foreach (var answer in call.ResponseStream.ReadAllAsync())
        {
            Assert.Empty(answer.ErrorMessage);
            Assert.True(ids.Add(answer.InferResponse.Id), $"answer {answer.InferResponse.Id} came twice");
        }
        await writer;
        Assert.Equal(Requests, ids.Count);
    }

    private static async Task<long> SucceededAsync(GRPCInferenceService.GRPCInferenceServiceClient client) =>
        (await client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "simple" })).ModelStats.Sum(s => (long)s.InferenceStats.Success.Count);

    // A padding parameter makes each request a few kilobytes, so flow-control windows hold few of them.
    private static readonly InferParameter Padding = new() { StringParam = new string('p', 4096) };

    private static ModelInferRequest Request(int id)
    {
        var request = new ModelInferRequest { ModelName = "simple", Id = id.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        request.Parameters["padding"] = Padding;
        foreach (var name in new[] { "INPUT0", "INPUT1" })
        {
            var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "INT32" };
            input.Shape.AddRange([1, 16]);
            request.Inputs.Add(input);
            request.RawInputContents.Add(ByteString.CopyFrom(new byte[64]));
        }
        return request;
    }
}
