using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Serving;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Reads a RepositoryModelLoad request where it lies in the call's buffers and writes each <c>file:</c> parameter's
/// bytes from there straight to the upload's file on disk. The generated parser copied every file into a
/// <c>ByteString</c> first, so an upload held two copies at once (the message as received and the parsed copy), and the
/// second one for as long as the load ran. Now the message as received is the only one, released once read, as the REST
/// upload decodes to disk as it reads. The other parameters are small and parsed as usual.
/// </summary>
internal static class ModelLoadMarshaller
{
    private const string MessageName = nameof(RepositoryModelLoadRequest);
    private const string FilePrefix = "file:";

    // RepositoryModelLoadRequest's fields, and those of a parameters map entry and of ModelRepositoryParameter.
    private const int RepositoryNameField = 1;
    private const int ModelNameField = 2;
    private const int ParametersField = 3;
    private const int EntryKeyField = 1;
    private const int EntryValueField = 2;
    private const int BytesParamField = 4;

    /// <summary>The marshaller; <paramref name="door"/> is asked for the upload (resolved at the first upload).</summary>
    public static Marshaller<ModelLoadMessage> Create(Func<InferenceFrontDoor> door, int maxSendBytes) => new(
        (message, context) => ProtobufMarshallers.Write(message.Request, context, maxSendBytes),
        context => Read(context.PayloadAsReadOnlySequence(), door));

    /// <summary>
    /// Reads <paramref name="payload"/>: errors of the message itself and of the files (a path that leaves the model
    /// folder, too many bytes, a disk that refuses them) are the call's status, and nothing of the upload is left behind.
    /// </summary>
    public static ModelLoadMessage Read(ReadOnlySequence<byte> payload, Func<InferenceFrontDoor> door)
    {
        ModelUpload? upload = null;
        try
        {
            var request = new RepositoryModelLoadRequest();
            var files = ReadFields(payload, request);
            if (files is not null)
            {
                upload = door().BeginUpload(request.ModelName);
                foreach (var (path, content) in files)
                {
                    using var file = upload.CreateFile(path, content.Length);
                    foreach (var segment in content)
                    {
                        file.Write(segment.Span);
                    }
                }
            }
            return new ModelLoadMessage(request, upload);
        }
        catch (InferenceException e)
        {
            upload?.Dispose();
            throw GrpcErrors.ToRpcException(e);
        }
        catch (InvalidProtocolBufferException e)
        {
            upload?.Dispose();
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"malformed {MessageName}: {e.Message}"));
        }
        catch
        {
            upload?.Dispose();
            throw;
        }
    }

    // Fills request with everything but the files' contents and returns those as slices of the payload (the last of a
    // repeated key wins, as in a protobuf map); null when there are none. A file: parameter that is not a bytes_param
    // stays a parameter, for the handler to refuse by name.
    private static Dictionary<string, ReadOnlySequence<byte>>? ReadFields(ReadOnlySequence<byte> payload, RepositoryModelLoadRequest request)
    {
        Dictionary<string, ReadOnlySequence<byte>>? files = null;
        var reader = new ProtoWireReader(payload, MessageName);
        while (!reader.End)
        {
            var (field, wireType) = reader.ReadTag();
            if (field == RepositoryNameField)
            {
                reader.Expect(field, wireType, ProtoWireReader.LengthDelimited);
                request.RepositoryName = reader.ReadString();
            }
            else if (field == ModelNameField)
            {
                reader.Expect(field, wireType, ProtoWireReader.LengthDelimited);
                request.ModelName = reader.ReadString();
            }
            else if (field == ParametersField)
            {
                reader.Expect(field, wireType, ProtoWireReader.LengthDelimited);
                var (key, value) = ReadEntry(reader.ReadLengthDelimited());
                if (key.StartsWith(FilePrefix, StringComparison.Ordinal) && BytesParam(value) is { } content)
                {
                    request.Parameters.Remove(key);
                    (files ??= new Dictionary<string, ReadOnlySequence<byte>>(StringComparer.Ordinal))[key[FilePrefix.Length..]] = content;
                }
                else
                {
                    files?.Remove(key[(key.StartsWith(FilePrefix, StringComparison.Ordinal) ? FilePrefix.Length : 0)..]);
                    request.Parameters[key] = ModelRepositoryParameter.Parser.ParseFrom(value);
                }
            }
            else
            {
                reader.Skip(wireType);
            }
        }
        return files;
    }

    private static (string Key, ReadOnlySequence<byte> Value) ReadEntry(ReadOnlySequence<byte> entry)
    {
        var key = "";
        var value = ReadOnlySequence<byte>.Empty;
        var reader = new ProtoWireReader(entry, MessageName);
        while (!reader.End)
        {
            var (field, wireType) = reader.ReadTag();
            if (field == EntryKeyField)
            {
                reader.Expect(field, wireType, ProtoWireReader.LengthDelimited);
                key = reader.ReadString();
            }
            else if (field == EntryValueField)
            {
                reader.Expect(field, wireType, ProtoWireReader.LengthDelimited);
                value = reader.ReadLengthDelimited();
            }
            else
            {
                reader.Skip(wireType);
            }
        }
        return (key, value);
    }

    // The content of a ModelRepositoryParameter that is a bytes_param and nothing else; null otherwise.
    private static ReadOnlySequence<byte>? BytesParam(ReadOnlySequence<byte> parameter)
    {
        ReadOnlySequence<byte>? content = null;
        var reader = new ProtoWireReader(parameter, MessageName);
        while (!reader.End)
        {
            var (field, wireType) = reader.ReadTag();
            if (field != BytesParamField || wireType != ProtoWireReader.LengthDelimited)
            {
                return null;
            }
            content = reader.ReadLengthDelimited();
        }
        return content;
    }
}
