using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace SslOrleans.Core.Export;

/// <summary>
/// The few pickle protocol-2 opcodes a torch.save state dict needs, and only those that PyTorch's restricted
/// unpickler (<c>torch.load(weights_only=True)</c>, torch/_weights_only_unpickler.py) accepts. No memo
/// (PUT/GET): it is an optimisation, and without it every object is written where it is used.
/// </summary>
internal sealed class PickleWriter
{
    private const byte Proto = 0x80;
    private const byte Global = (byte)'c';
    private const byte Mark = (byte)'(';
    private const byte Tuple = (byte)'t';
    private const byte EmptyTuple = (byte)')';
    private const byte Tuple1 = 0x85;
    private const byte Tuple2 = 0x86;
    private const byte Tuple3 = 0x87;
    private const byte Reduce = (byte)'R';
    private const byte BinPersId = (byte)'Q';
    private const byte NewFalse = 0x89;
    private const byte SetItems = (byte)'u';
    private const byte BinUnicode = (byte)'X';
    private const byte BinInt1 = (byte)'K';
    private const byte BinInt2 = (byte)'M';
    private const byte BinInt = (byte)'J';
    private const byte Long1 = 0x8a;
    private const byte Stop = (byte)'.';

    private readonly MemoryStream buffer = new();

    public PickleWriter() => buffer.Write([Proto, 2]);

    /// <summary>Pushes a class or function, <c>module.name</c>.</summary>
    public PickleWriter WriteGlobal(string module, string name)
    {
        buffer.WriteByte(Global);
        buffer.Write(Encoding.UTF8.GetBytes($"{module}\n{name}\n"));
        return this;
    }

    public PickleWriter WriteMark() => Op(Mark);

    /// <summary>Pops everything above the last mark into a tuple.</summary>
    public PickleWriter WriteTuple() => Op(Tuple);

    /// <summary>Calls the callable below the argument tuple on top.</summary>
    public PickleWriter WriteReduce() => Op(Reduce);

    /// <summary>Replaces the object on top with the one the loader's persistent_load gives for it (a storage).</summary>
    public PickleWriter WritePersistentId() => Op(BinPersId);

    public PickleWriter WriteFalse() => Op(NewFalse);

    /// <summary>Sets the key/value pairs above the last mark into the dict-like object below it.</summary>
    public PickleWriter WriteSetItems() => Op(SetItems);

    public PickleWriter WriteString(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)bytes.Length);
        buffer.WriteByte(BinUnicode);
        buffer.Write(length);
        buffer.Write(bytes);
        return this;
    }

    /// <summary>
    /// The shortest encoding pickle itself would choose: BININT1 and BININT2 for small non-negative numbers,
    /// BININT for any other signed 32-bit number, LONG1 (little-endian two's complement) beyond.
    /// </summary>
    public PickleWriter WriteInt(long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        if (value is >= 0 and <= byte.MaxValue)
        {
            buffer.WriteByte(BinInt1);
            buffer.WriteByte((byte)value);
        }
        else if (value is >= 0 and <= ushort.MaxValue)
        {
            buffer.WriteByte(BinInt2);
            BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)value);
            buffer.Write(bytes[..2]);
        }
        else if (value is >= int.MinValue and <= int.MaxValue)
        {
            buffer.WriteByte(BinInt);
            BinaryPrimitives.WriteInt32LittleEndian(bytes, (int)value);
            buffer.Write(bytes[..4]);
        }
        else
        {
            var twosComplement = new BigInteger(value).ToByteArray(); // little-endian, minimal, sign bit included
            buffer.WriteByte(Long1);
            buffer.WriteByte((byte)twosComplement.Length);
            buffer.Write(twosComplement);
        }
        return this;
    }

    /// <summary>A tuple of integers (a size or a stride); () for a 0-d tensor.</summary>
    public PickleWriter WriteIntTuple(IReadOnlyList<long> values)
    {
        if (values.Count == 0) return Op(EmptyTuple);
        if (values.Count > 3) WriteMark();
        foreach (var v in values) WriteInt(v);
        return Op(values.Count switch { 1 => Tuple1, 2 => Tuple2, 3 => Tuple3, _ => Tuple });
    }

    public PickleWriter WriteEmptyTuple() => Op(EmptyTuple);

    /// <summary>Ends the pickle; returns its bytes.</summary>
    public byte[] Finish()
    {
        buffer.WriteByte(Stop);
        return buffer.ToArray();
    }

    private PickleWriter Op(byte opcode)
    {
        buffer.WriteByte(opcode);
        return this;
    }
}
