# Build: the SDK image; ONNX Runtime comes from NuGet (add --build-arg ORT_FLAVOR=gpu for the CUDA build,
# which needs the CUDA 13 and cuDNN 9 libraries, and TensorRT 10 for the tensorrt accelerator, in the run image).
# The TorchScript backend's LibTorch adds about 450 MB; --build-arg LIBTORCH_BACKEND=false leaves it out (then serve a
# repository without TorchScript models: the sample tiny_mlp_torch would fail to load).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG ORT_FLAVOR=cpu
ARG LIBTORCH_BACKEND=true
WORKDIR /src
COPY . .
RUN dotnet publish server/InferenceServer/InferenceServer.csproj -c Release -p:OrtFlavor=$ORT_FLAVOR -p:LibTorchBackend=$LIBTORCH_BACKEND -o /app

# Run: the ASP.NET runtime, the published server (libonnxruntime.so sits beside it) and the sample models.
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
COPY models /models
EXPOSE 8000 8001 8002
ENTRYPOINT ["./inference-server", "serve"]
CMD ["--model-repository", "/models"]
