internal import CNaviosWS

/// UTF-8 validation as the frame layer does it (SIMD where the CPU has it): for bytes that did
/// not come through a frame, such as another instance's messages, before a client sees them.
public enum WsUTF8 {
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        // A raw buffer's memory is bytes: reading it as UInt8 is sound.
        return nws_utf8_valid(base.assumingMemoryBound(to: UInt8.self), bytes.count) != 0
    }
}
