using System.Net;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using InferenceServer.LoadTest.Inputs;
using InferenceServer.LoadTest.Targets;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferenceServer.LoadTest.Tests.Grpc;

/// <summary>
/// The gRPC target over several models against a fake on-demand server (Grpc.AspNetCore on real Kestrel): each request
/// names its own model, a cold start comes back as response metadata <c>inference-cold-start-ms</c>, a missed cold-start
/// deadline as UNAVAILABLE.
/// </summary>
public sealed class GrpcColdStartTests : IAsyncLifetime
{
    private static readonly ModelMetadata Mlp = new("m", ["1"], "onnxruntime_onnx", [new TensorMetadata("input", "FP32", [-1, 4])], [new TensorMetadata("output", "FP32", [-1, 1])]);
    private WebApplication? _server;
    private Uri? _address;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<OnDemandService>();
        builder.Services.AddSingleton<IServiceMethodProvider<OnDemandService>, OnDemandMethods>();
        _server = builder.Build();
        _server.MapGrpcService<OnDemandService>();
        await _server.StartAsync();
        _address = new Uri(_server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Each_model_gets_its_own_request_and_a_cold_start_is_read_from_the_response_headers()
    {
        var inputs = InputGenerator.Generate(Mlp, batchSize: 1, count: 2, seed: 1);
        await using var target = new GrpcTarget(_address!, 1, ["warm", "cold", "busy"], null, inputs, TimeSpan.FromSeconds(30));
        Assert.Equal(3, target.ModelCount);
        Assert.Equal(2, target.InputCount);

        var warm = await target.SendAsync(0, 1, CancellationToken.None);
        var cold = await target.SendAsync(1, 0, CancellationToken.None);
        var busy = await target.SendAsync(2, 1, CancellationToken.None);

        Assert.True(warm.Success, warm.Detail);
        Assert.Null(warm.ColdStartMs);
        Assert.True(cold.Success, cold.Detail);
        Assert.Equal(250, cold.ColdStartMs);
        Assert.False(busy.Success);
        Assert.Equal(ErrorKey.Grpc(StatusCode.Unavailable), busy.Error);
        Assert.Equal("model 'busy' did not load within the cold-start deadline", busy.Detail);
    }

    /// <summary>Answers ModelInfer as an on-demand server would, by the model the request names.</summary>
    internal sealed class OnDemandService
    {
        public static readonly Method<ModelInferRequest, ModelInferResponse> ModelInfer = new(
            MethodType.Unary, "inference.GRPCInferenceService", "ModelInfer",
            Marshallers.Create(static (ModelInferRequest r) => r.ToByteArray(), ModelInferRequest.Parser.ParseFrom),
            Marshallers.Create(static (ModelInferResponse r) => r.ToByteArray(), ModelInferResponse.Parser.ParseFrom));

        public static async Task<ModelInferResponse> Answer(OnDemandService service, ModelInferRequest request, ServerCallContext context)
        {
            // The fake checks what the target sent: the model named in the request, and the one input it was given.
            if (request.Inputs.Count != 1 || request.Inputs[0].Name != "input")
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "expected one input named 'input'"));
            }
            switch (request.ModelName)
            {
                case "cold":
                    await context.WriteResponseHeadersAsync(new Metadata { { "inference-cold-start-ms", "250" } });
                    break;
                case "busy":
                    throw new RpcException(new Status(StatusCode.Unavailable, "model 'busy' did not load within the cold-start deadline"));
                case "warm":
                    break;
                default:
                    throw new RpcException(new Status(StatusCode.NotFound, $"unknown model '{request.ModelName}'"));
            }
            return new ModelInferResponse { ModelName = request.ModelName, ModelVersion = "1" };
        }
    }

    internal sealed class OnDemandMethods : IServiceMethodProvider<OnDemandService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<OnDemandService> context) =>
            context.AddUnaryMethod(OnDemandService.ModelInfer, [], OnDemandService.Answer);
    }
}
