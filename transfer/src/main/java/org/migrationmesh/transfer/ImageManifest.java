package org.migrationmesh.transfer;

import com.google.protobuf.ByteString;
import org.migrationmesh.proto.transfer.FileEntry;
import org.migrationmesh.proto.transfer.Manifest;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What an image directory holds: every file's name, length and SHA-256 (for a pages file it may
 * be left out here and a file digest given at commit instead, see {@link PageListDigest}). CRIU image directories
 * are flat, so a name is one plain path component; anything else is refused. Pure.
 */
public record ImageManifest(List<File> files) {
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._+-]{0,254}");

    /** One file of the image directory. */
    public record File(String name, long length, byte[] sha256) {
        public File {
            checkName(name);
            if (length < 0) throw new IllegalArgumentException("negative length " + length + " for " + name);
            if (sha256 == null || (sha256.length != 32 && sha256.length != 0)) {
                throw new IllegalArgumentException("no SHA-256 for " + name);
            }
        }

        /** Whether the SHA-256 is in the manifest; if not, it comes with the commit. */
        public boolean hasSha256() {
            return sha256.length == 32;
        }

        public String sha256Hex() {
            return HexFormat.of().formatHex(sha256);
        }

        public boolean isPages() {
            return name.startsWith("pages-") && name.endsWith(".img");
        }
    }

    public ImageManifest {
        files = List.copyOf(files);
        Set<String> seen = new HashSet<>();
        for (File f : files) {
            if (!seen.add(f.name())) throw new IllegalArgumentException("file " + f.name() + " listed twice");
        }
    }

    /**
     * Refuses a name that is not a single safe component of the image directory (no '/', not
     * '.' or '..', no leading dot, printable ASCII only).
     */
    public static void checkName(String name) {
        if (name == null || !SAFE_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("unsafe image file name '" + name + "'");
        }
    }

    public long totalBytes() {
        return files.stream().mapToLong(File::length).sum();
    }

    public Optional<Integer> indexOf(String name) {
        for (int i = 0; i < files.size(); i++) if (files.get(i).name().equals(name)) return Optional.of(i);
        return Optional.empty();
    }

    public Manifest toProto() {
        Manifest.Builder b = Manifest.newBuilder();
        for (File f : files) {
            b.addFiles(FileEntry.newBuilder().setName(f.name()).setLength(f.length()).setSha256(ByteString.copyFrom(f.sha256())));
        }
        return b.build();
    }

    /** Converts and validates a manifest from the wire; throws {@link IllegalArgumentException}. */
    public static ImageManifest fromProto(Manifest m) {
        List<File> out = new ArrayList<>(m.getFilesCount());
        for (FileEntry e : m.getFilesList()) out.add(new File(e.getName(), e.getLength(), e.getSha256().toByteArray()));
        return new ImageManifest(out);
    }
}
