import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Produces records with Kafka's own Java client, for the integration test that proves the
 * consumer reads every compression Kafka supports from a non-JavaScript producer.
 *
 * java -cp '.local/kafka/libs/*' ProduceCompressed.java BROKERS TOPIC CODEC < records
 * Each input line: base64(key) TAB base64(value). Prints the number of records acknowledged.
 */
public class ProduceCompressed {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("compression.type", args[2]);
    p.put("acks", "all");
    p.put("linger.ms", "20");
    p.put("key.serializer", ByteArraySerializer.class.getName());
    p.put("value.serializer", ByteArraySerializer.class.getName());
    Base64.Decoder b64 = Base64.getDecoder();
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isEmpty()) continue;
        int tab = line.indexOf('\t');
        sent.add(producer.send(new ProducerRecord<>(args[1], b64.decode(line.substring(0, tab)), b64.decode(line.substring(tab + 1)))));
      }
      producer.flush();
      for (Future<RecordMetadata> f : sent) f.get();
    }
    System.out.println(sent.size());
  }
}
