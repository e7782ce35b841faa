using System.Diagnostics;
using SslOrleans.Core.Methods;
using TorchSharp;

namespace SslOrleans.Core.Data.Images;

/// <summary>
/// A dataset split decoded from its files on demand: only the labels are held whole; images are decoded when asked
/// for, or ahead of time on this source's own decoder threads after a <see cref="Prefetch"/> hint, into a cache of at
/// most <see cref="Capacity"/> images. Memory is bounded by that capacity whatever the dataset's size: the oldest hints
/// are dropped first when it is full. A read leaves the image in the cache, as SimCLR and Barlow Twins read each
/// micro-batch twice in a step (embeddings, then gradients).
/// </summary>
public sealed class StreamingImageSource : IImageSource, IDisposable
{
    private readonly ISampleReader reader;
    private readonly int imageBytes;
    private readonly object gate = new(); // Monitor: the decoders wait on it for work
    // Samples hinted: decoded, being decoded, or waiting for a decoder thread; in hint order for eviction.
    private readonly Dictionary<int, Slot> slots = [];
    private readonly LinkedList<int> hinted = [];
    private readonly Queue<Slot> queue = new();
    private readonly Thread[] decoders;
    private bool disposed;
    private long waitTicks, hits, misses;

    /// <param name="capacity">The most decoded images held (hinted and not yet taken).</param>
    /// <param name="decoderThreads">Threads that decode hinted samples (0: hints are ignored; every read decodes inline).</param>
    public StreamingImageSource(ISampleReader reader, int channels, int size, ImageStats stats, int capacity = 1024, int decoderThreads = 1)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "1 or 3 channels");
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        ArgumentOutOfRangeException.ThrowIfNegative(decoderThreads);
        if (reader.Classes > 256) throw new ArgumentException($"{reader.Name} has {reader.Classes} classes; labels are bytes here, so at most 256");
        this.reader = reader;
        Channels = channels;
        Height = Width = size;
        Stats = stats;
        Capacity = capacity;
        imageBytes = channels * size * size;
        Labels = new byte[reader.Count];
        if (reader.Classes > 0)
        {
            for (int i = 0; i < Labels.Length; i++) Labels[i] = (byte)reader.Label(i);
        }
        decoders = new Thread[capacity == 0 ? 0 : decoderThreads];
        for (int t = 0; t < decoders.Length; t++)
        {
            decoders[t] = new Thread(DecodeLoop) { IsBackground = true, Name = $"sslo-decode-{t}" };
            decoders[t].Start();
        }
    }

    public string Name => reader.Name;

    public int Count => reader.Count;

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    public int Classes => reader.Classes;

    public byte[] Labels { get; }

    public ImageStats Stats { get; }

    public int Capacity { get; }

    /// <summary>How reads have fared so far: seconds <see cref="ToTensor"/> waited for images (decoding them itself or
    /// waiting for a decoder), and samples that were ready from a hint or were not.</summary>
    public DataWait Waited
    {
        get
        {
            lock (gate) return new DataWait(Stopwatch.GetElapsedTime(0, waitTicks).TotalSeconds, hits, misses);
        }
    }

    /// <summary>Decoded images held now (at most <see cref="Capacity"/>).</summary>
    public int Held
    {
        get
        {
            lock (gate) return slots.Count;
        }
    }

    /// <summary>Whether sample <paramref name="index"/> is decoded and held (for tests of the hints).</summary>
    internal bool IsDecoded(int index)
    {
        lock (gate) return slots.TryGetValue(index, out var slot) && slot.Done.Task.IsCompletedSuccessfully;
    }

    public void Prefetch(ReadOnlySpan<int> indices)
    {
        if (decoders.Length == 0) return;
        lock (gate)
        {
            foreach (var index in indices)
            {
                CheckIndex(index);
                if (slots.TryGetValue(index, out var present))
                {
                    // Hinted again (read twice in a step, or again next step): it is the newest hint now.
                    hinted.Remove(present.Node);
                    hinted.AddLast(present.Node);
                    continue;
                }
                while (slots.Count >= Capacity && hinted.First is { } oldest)
                {
                    // The oldest hint was never taken (the micro-batch went to another worker): drop it.
                    slots.Remove(oldest.Value, out var dropped);
                    lock (dropped!) dropped.Dropped = true;
                    hinted.RemoveFirst();
                }
                var slot = new Slot(index, hinted.AddLast(index));
                slots[index] = slot;
                queue.Enqueue(slot);
            }
            Monitor.PulseAll(gate);
        }
    }

    public torch.Tensor ToTensor(ReadOnlySpan<int> indices)
    {
        var values = new float[(long)indices.Length * imageBytes];
        var pixels = new byte[imageBytes];
        long waited = 0;
        int ready = 0;
        for (int i = 0; i < indices.Length; i++)
        {
            int index = indices[i];
            CheckIndex(index);
            Slot? slot;
            lock (gate) slots.TryGetValue(index, out slot);
            byte[] image;
            if (slot is not null && slot.Done.Task.IsCompletedSuccessfully)
            {
                image = slot.Done.Task.Result;
                ready++;
            }
            else
            {
                long t0 = Stopwatch.GetTimestamp();
                image = Take(slot, index) ?? pixels;
                if (ReferenceEquals(image, pixels)) reader.Read(index, Channels, Height, pixels);
                waited += Stopwatch.GetTimestamp() - t0;
            }
            UnitPixels.Convert(image, values.AsSpan(i * imageBytes, imageBytes));
        }
        lock (gate)
        {
            waitTicks += waited;
            hits += ready;
            misses += indices.Length - ready;
        }
        return torch.tensor(values, [indices.Length, Channels, Height, Width], torch.ScalarType.Float32);
    }

    // A hinted sample that a decoder works on is waited for; one still queued is decoded here (and kept, so that a
    // second read in the same step finds it), as is one not hinted at all (null: decode into the caller's buffer).
    // A sample whose decoding failed is read again by the caller, whose own read then throws the error with its name.
    private byte[]? Take(Slot? slot, int index)
    {
        if (slot is null) return null;
        bool decodeHere;
        lock (slot)
        {
            decodeHere = !slot.Started;
            slot.Started = true;
        }
        if (decodeHere)
        {
            var image = new byte[imageBytes];
            try
            {
                reader.Read(index, Channels, Height, image);
            }
            catch (Exception e)
            {
                slot.Done.TrySetException(e);
                throw;
            }
            slot.Done.TrySetResult(image);
            return image;
        }
        try
        {
            return slot.Done.Task.GetAwaiter().GetResult();
        }
        catch (Exception)
        {
            return null;
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            Monitor.PulseAll(gate);
        }
        foreach (var thread in decoders) thread.Join();
        reader.Dispose();
    }

    private void DecodeLoop()
    {
        while (true)
        {
            Slot slot;
            lock (gate)
            {
                while (!disposed && queue.Count == 0) Monitor.Wait(gate);
                if (disposed) return;
                slot = queue.Dequeue();
            }
            lock (slot)
            {
                // Dropped from the cache, or a reader came first and decodes it itself.
                if (slot.Dropped || slot.Started) continue;
                slot.Started = true;
            }
            try
            {
                var image = new byte[imageBytes];
                reader.Read(slot.Index, Channels, Height, image);
                slot.Done.TrySetResult(image);
            }
            catch (Exception e)
            {
                // The reader that takes this sample decodes it again inline and gets the error itself, with its name.
                slot.Done.TrySetException(e);
            }
        }
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name}: sample index {index} is outside [0, {Count})");
    }

    private sealed class Slot(int index, LinkedListNode<int> node)
    {
        public int Index { get; } = index;
        public LinkedListNode<int> Node { get; } = node;
        public TaskCompletionSource<byte[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        // Under the slot's lock: whoever sets Started (a decoder or a reader) decodes the slot; the others wait for
        // Done or skip it. A dropped slot is skipped by the decoders.
        public bool Dropped;
        public bool Started;
    }
}

/// <summary>Seconds a reader waited for images, and samples that were decoded ahead (hits) or not (misses).</summary>
public readonly record struct DataWait(double Seconds, long Hits, long Misses);
